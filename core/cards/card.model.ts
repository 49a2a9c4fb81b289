import { Schema, type Connection, type Model } from 'mongoose';
import type { Lot, MovementResult } from '../ledger/ledger.types.js';
import type { ErrorCode } from '../shared/errors.js';

export const CARD_STATUSES = ['active', 'blocked', 'replaced', 'unassigned'] as const;
export type CardStatus = (typeof CARD_STATUSES)[number];

/**
 * The outcome of an entry on this card, kept so that a retry or recovery can tell applied
 * from refused from not yet decided: `result` when applied, `void` (an error code) when refused.
 */
export interface CardMark {
  entryId: string;
  at: Date;
  result?: MovementResult;
  void?: ErrorCode;
}

/**
 * The card is the account: balance, lots, shortfall, spend and level change together in one
 * atomic single-document update guarded by `version` (optimistic concurrency).
 */
export interface CardDoc {
  _id: string;
  memberId: string | null;
  status: CardStatus;
  replacedBy: string | null;
  source: 'issued' | 'plastic';
  balance: number;
  debt: number;
  spentKopecks: number;
  levelId: string;
  manualLevelId: string | null;
  lots: Lot[];
  marks: CardMark[];
  earnedTotal: number;
  spentPointsTotal: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const lotSchema = new Schema<Lot>(
  { entryId: String, earnedAt: Date, expiresAt: Date, remaining: Number },
  { _id: false },
);

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
    marks: { type: Schema.Types.Mixed, default: [] },
    earnedTotal: { type: Number, default: 0 },
    spentPointsTotal: { type: Number, default: 0 },
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
