import { Schema, type Connection, type Model } from 'mongoose';

export const PROOF_STATUSES = ['pending', 'used', 'locked', 'replaced'] as const;
export type ProofStatus = (typeof PROOF_STATUSES)[number];

/**
 * A proof in progress that a chat account (`identity`, e.g. `vk:123`) belongs to the member
 * whose phone it typed: a one-time code was told in a chat the member already uses. Only an
 * HMAC of the code is kept (keyed by a random salt per proof). Every typed number makes one,
 * whether or not anyone holds it: one with no member is told nowhere and can never be
 * answered, so a typist cannot tell the two apart.
 */
export interface PhoneProofDoc {
  _id: string;
  identity: string;
  /** The member told the code; null when nobody was (a number nobody holds, or a limit reached). */
  memberId: string | null;
  /** Keyed hash of the number as it was when the code was sent: a number that changed holder since proves nothing. */
  phoneHash: string | null;
  salt: string;
  codeHash: string;
  /** Guesses made so far; counted atomically before each comparison. */
  attempts: number;
  status: ProofStatus;
  expiresAt: Date;
  createdAt: Date;
  usedAt: Date | null;
}

const phoneProofSchema = new Schema<PhoneProofDoc>(
  {
    _id: { type: String, required: true },
    identity: { type: String, required: true },
    memberId: { type: String, default: null },
    phoneHash: { type: String, default: null },
    salt: { type: String, required: true },
    codeHash: { type: String, required: true },
    attempts: { type: Number, required: true },
    status: { type: String, enum: PROOF_STATUSES, required: true },
    expiresAt: { type: Date, required: true },
    createdAt: { type: Date, required: true },
    usedAt: { type: Date, default: null },
  },
  { collection: 'phone_proofs', versionKey: false },
);
phoneProofSchema.index({ identity: 1, createdAt: -1 });
phoneProofSchema.index({ memberId: 1, createdAt: -1 });
phoneProofSchema.index({ createdAt: 1 });

export type PhoneProofModel = Model<PhoneProofDoc>;

export function phoneProofModel(conn: Connection): PhoneProofModel {
  return (conn.models.PhoneProof as PhoneProofModel | undefined) ?? conn.model<PhoneProofDoc>('PhoneProof', phoneProofSchema);
}
