import { Schema, type Connection, type Model } from 'mongoose';
import { ENTRY_TYPES, type AppliedLine, type EntryResult, type EntryType, type ImportedCounters, type MovementRef, type PurchaseRecord, type ReferralRole, type RefundRecord } from './ledger.types.js';

/**
 * One card transition, append-only and never edited. Writing it is the commit point of a
 * movement (see docs/ledger.md): `_id` is the idempotency key, and the unique `(card, seq)`
 * index lets exactly one entry become the card's transition number `seq`, planned against the
 * card at version `seq − 1`. The result is recorded as planned; the card catches up by folding
 * the entry in (the till's own request does it at once, anyone else when it lags).
 */
export interface EntryDoc {
  _id: string;
  card: string;
  seq: number;
  type: EntryType;
  lines: AppliedLine[];
  /** Net signed change of the balance; the balance is the sum of these over the card's entries. */
  amount: number;
  spendDeltaKopecks: number;
  ref: MovementRef;
  role: ReferralRole | null;
  purchase: PurchaseRecord | null;
  refund: RefundRecord | null;
  /** For 'level': the hand-assigned level it set (null: cleared). */
  manualLevelId?: string | null;
  /** For 'import': the imported totals it made stand. */
  imported?: ImportedCounters | null;
  /** The card's member when written (events and reports need no card read). */
  memberId: string | null;
  result: EntryResult;
  createdAt: Date;
}

const entrySchema = new Schema<EntryDoc>(
  {
    _id: { type: String, required: true },
    card: { type: String, required: true },
    seq: { type: Number, required: true },
    type: { type: String, enum: ENTRY_TYPES, required: true },
    lines: { type: Schema.Types.Mixed, default: [] },
    amount: { type: Number, required: true },
    spendDeltaKopecks: { type: Number, default: 0 },
    ref: { type: Schema.Types.Mixed, default: {} },
    role: { type: String, default: null },
    purchase: { type: Schema.Types.Mixed, default: null },
    refund: { type: Schema.Types.Mixed, default: null },
    manualLevelId: { type: String },
    imported: { type: Schema.Types.Mixed },
    memberId: { type: String, default: null },
    result: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'ledger_entries', versionKey: false },
);
// The transition slot: one entry per card version. Also the history order (newest first).
entrySchema.index({ card: 1, seq: 1 }, { unique: true });
// The recovery sweep and period exports read recent entries by time.
entrySchema.index({ createdAt: 1 });

export type EntryModel = Model<EntryDoc>;

export function entryModel(conn: Connection): EntryModel {
  return (conn.models.LedgerEntry as EntryModel | undefined) ?? conn.model<EntryDoc>('LedgerEntry', entrySchema);
}

/** Small facts about the ledger itself, by `_id` (e.g. when the recovery sweep last ran). */
interface LedgerMetaDoc {
  _id: string;
  at: Date;
}
const metaSchema = new Schema<LedgerMetaDoc>({ _id: String, at: Date }, { collection: 'ledger_meta', versionKey: false });

export function ledgerMetaModel(conn: Connection): Model<LedgerMetaDoc> {
  return (conn.models.LedgerMeta as Model<LedgerMetaDoc> | undefined) ?? conn.model<LedgerMetaDoc>('LedgerMeta', metaSchema);
}
