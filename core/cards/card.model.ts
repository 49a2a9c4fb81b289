import { Schema, type Connection, type Model } from 'mongoose';
import type { ImportedCounters, Lot, ReceiptRefunds } from '../ledger/ledger.types.js';

export const CARD_STATUSES = ['active', 'blocked', 'replaced', 'unassigned'] as const;
export type CardStatus = (typeof CARD_STATUSES)[number];

/**
 * The card is the account. Its ledger fields (balance, lots, shortfall, spend, level, the
 * counters, the refunds of its receipts) are the fold of its ledger entries 1..version: they
 * change only in one atomic update per entry (see core/ledger/ledger.service.ts), and
 * `version` is the `seq` of the last entry folded in. Nothing else may change `version`.
 */
export interface CardDoc {
  _id: string;
  memberId: string | null;
  status: CardStatus;
  replacedBy: string | null;
  source: 'issued' | 'plastic';
  balance: number;
  debt: number;
  /** Spend net of refunds (kopecks): drives the level. */
  spentKopecks: number;
  levelId: string;
  manualLevelId: string | null;
  lots: Lot[];
  /** Points credited (accruals, bonuses, manual credits), gross. */
  earnedTotal: number;
  /** Points spent (redemptions, manual debits) net of those given back by refunds. */
  spentPointsTotal: number;
  expiredTotal: number;
  /** Receipts recorded. */
  purchases: number;
  lastPurchaseAt: Date | null;
  /** Per refunded receipt, what its refunds added up to (the next refund's shares start there). */
  refunds: ReceiptRefunds[];
  /** The totals the last import of the shop's old base gave (a corrected import moves the counters by the difference). */
  importedCounters: ImportedCounters | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const lotSchema = new Schema<Lot>({ entryId: String, earnedAt: Date, expiresAt: Date, remaining: Number }, { _id: false });

const cardSchema = new Schema<CardDoc>(
  {
    _id: { type: String, required: true },
    memberId: { type: String, default: null },
    status: { type: String, enum: CARD_STATUSES, required: true },
    replacedBy: { type: String, default: null },
    source: { type: String, enum: ['issued', 'plastic'], default: 'issued' },
    balance: { type: Number, default: 0 },
    debt: { type: Number, default: 0 },
    spentKopecks: { type: Number, default: 0 },
    levelId: { type: String, required: true },
    manualLevelId: { type: String, default: null },
    lots: { type: [lotSchema], default: [] },
    earnedTotal: { type: Number, default: 0 },
    spentPointsTotal: { type: Number, default: 0 },
    expiredTotal: { type: Number, default: 0 },
    purchases: { type: Number, default: 0 },
    lastPurchaseAt: { type: Date, default: null },
    refunds: { type: Schema.Types.Mixed, default: [] },
    importedCounters: { type: Schema.Types.Mixed, default: null },
    version: { type: Number, default: 0 },
  },
  { timestamps: true, collection: 'cards', versionKey: false },
);
cardSchema.index({ memberId: 1 });
cardSchema.index({ 'lots.expiresAt': 1 });

export type CardModel = Model<CardDoc>;

export function cardModel(conn: Connection): CardModel {
  return (conn.models.Card as CardModel | undefined) ?? conn.model<CardDoc>('Card', cardSchema);
}

/**
 * A card as issued: nothing earned, nothing spent, version 0 (no entry folded in yet). A card
 * issued by an import of the shop's old base may open with that base's counters (spend,
 * purchases, last purchase): its opening state, to which the entries are then folded.
 */
export function newCardDoc(
  fields: Pick<CardDoc, '_id' | 'memberId' | 'levelId'> & Partial<Pick<CardDoc, 'status' | 'source' | 'spentKopecks' | 'purchases' | 'lastPurchaseAt' | 'importedCounters'>>,
  now: Date,
): CardDoc {
  return {
    status: 'active',
    source: 'issued',
    spentKopecks: 0,
    purchases: 0,
    lastPurchaseAt: null,
    importedCounters: null,
    ...fields,
    replacedBy: null,
    balance: 0,
    debt: 0,
    manualLevelId: null,
    lots: [],
    earnedTotal: 0,
    spentPointsTotal: 0,
    expiredTotal: 0,
    refunds: [],
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
}
