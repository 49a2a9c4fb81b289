import { Schema, type Connection, type Model } from 'mongoose';
import { ENTRY_TYPES, type EntryType, type MovementEffect, type MovementRef, type MovementResult } from './ledger.types.js';

export type EntryStatus = 'pending' | 'applied' | 'void';

/**
 * One point movement, append-only: inserted `pending` (claiming its idempotency key), then
 * `applied` with its result, or `void` when it was refused. Never deleted, never edited after.
 * `published` is the outbox flag: the relay turns applied entries into BullMQ jobs.
 */
export interface EntryDoc {
  /** The idempotency key itself: `_id` is unique and the cheapest look-up on every server. */
  _id: string;
  card: string;
  type: EntryType;
  effect: MovementEffect;
  points: number;
  spendDeltaKopecks: number;
  lotId: string | null;
  /** Expiry of the lot a credit creates, fixed at request time so a retry gives the same lot. */
  lotExpiresAt: Date | null;
  ref: MovementRef;
  status: EntryStatus;
  amount: number;
  result: MovementResult | null;
  error: string | null;
  published: boolean;
  createdAt: Date;
  appliedAt: Date | null;
}

const entrySchema = new Schema<EntryDoc>(
  {
    _id: { type: String, required: true },
    card: { type: String, required: true },
    type: { type: String, enum: ENTRY_TYPES, required: true },
    effect: { type: String, required: true },
    points: { type: Number, required: true },
    spendDeltaKopecks: { type: Number, default: 0 },
    lotId: { type: String, default: null },
    lotExpiresAt: { type: Date, default: null },
    ref: { type: Schema.Types.Mixed, default: {} },
    status: { type: String, enum: ['pending', 'applied', 'void'], required: true },
    amount: { type: Number, default: 0 },
    result: { type: Schema.Types.Mixed, default: null },
    error: { type: String, default: null },
    published: { type: Boolean, default: false },
    createdAt: { type: Date, required: true },
    appliedAt: { type: Date, default: null },
  },
  { collection: 'ledger_entries', versionKey: false },
);
entrySchema.index({ card: 1, createdAt: -1 });
entrySchema.index({ status: 1, createdAt: 1 });
entrySchema.index({ published: 1, status: 1 });

export type EntryModel = Model<EntryDoc>;

export function entryModel(conn: Connection): EntryModel {
  return (conn.models.LedgerEntry as EntryModel | undefined) ?? conn.model<EntryDoc>('LedgerEntry', entrySchema);
}
