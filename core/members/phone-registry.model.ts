import { Schema, type Connection, type Model } from 'mongoose';

/** How a phone came to be proved: the person's own contact in a chat, a code told in a chat of the member, or the shop vouching. */
export const PHONE_PROOFS = ['contact', 'code', 'till', 'admin', 'import', 'legacy'] as const;
export type PhoneProofVia = (typeof PHONE_PROOFS)[number];

/**
 * Who holds a phone: `_id` is the E.164 number, so the look-up by phone (till, purchases, the
 * join) is a look-up by `_id` (the only one FerretDB v1 answers from an index) and a phone has
 * at most one holder without a partial index. A phone is `proved` when its holder showed it is
 * theirs (the contact of their own account, a code told in their chat, the shop vouching);
 * otherwise it was only typed, and the first proof by someone else takes it away.
 * The holder is the member named here AND holding the number on its own document; an entry
 * whose member no longer holds the number is stale and may be taken.
 */
export interface MemberPhoneDoc {
  _id: string;
  memberId: string;
  proved: boolean;
  via: PhoneProofVia | 'typed';
  at: Date;
}

const memberPhoneSchema = new Schema<MemberPhoneDoc>(
  {
    _id: { type: String, required: true },
    memberId: { type: String, required: true },
    proved: { type: Boolean, required: true },
    via: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'member_phones', versionKey: false },
);

/**
 * A bonus given once per phone, ever: `_id` is `<kind>:<keyed hash of the phone>` (HMAC-SHA-256
 * with a secret kept outside the database), so erasing and joining again, or losing the phone
 * and proving it again, never gives the same bonus twice. Kept for this purpose only; the
 * member id is removed when the member is erased.
 */
export interface BonusClaimDoc {
  _id: string;
  memberId: string | null;
  at: Date;
}

const bonusClaimSchema = new Schema<BonusClaimDoc>(
  { _id: { type: String, required: true }, memberId: { type: String, default: null }, at: { type: Date, required: true } },
  { collection: 'bonus_claims', versionKey: false },
);

export type MemberPhoneModel = Model<MemberPhoneDoc>;
export type BonusClaimModel = Model<BonusClaimDoc>;

export function phoneRegistryModels(conn: Connection) {
  return {
    Phones: (conn.models.MemberPhone as MemberPhoneModel | undefined) ?? conn.model<MemberPhoneDoc>('MemberPhone', memberPhoneSchema),
    BonusClaims: (conn.models.BonusClaim as BonusClaimModel | undefined) ?? conn.model<BonusClaimDoc>('BonusClaim', bonusClaimSchema),
  };
}
