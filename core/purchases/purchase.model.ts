import { Schema, type Types, type Connection, type Model } from 'mongoose';

export interface PurchaseResult {
  purchaseId: string;
  cardNumber: string;
  accrued: number;
  redeemed: number;
  balance: number;
  level: string;
}

export interface RefundRecord {
  refundId: string;
  amountKopecks: number;
  clawback: number;
  returned: number;
}

/** A receipt from a store; `key` (store + receipt id) is unique: the till's idempotency. */
export interface PurchaseDoc {
  _id: Types.ObjectId;
  key: string;
  storeId: string;
  receiptId: string;
  bodyHash: string;
  card: string;
  memberId: string | null;
  totalKopecks: number;
  discountKopecks: number;
  redeemPoints: number;
  items: unknown[];
  /** The level and percent the accrual was computed with, and the settings version. */
  levelId: string;
  percentBp: number;
  settingsVersion: number;
  baseKopecks: number;
  accrued: number;
  status: 'pending' | 'done';
  result: PurchaseResult | null;
  refundedKopecks: number;
  clawedBack: number;
  returned: number;
  refunds: RefundRecord[];
  version: number;
  createdAt: Date;
  completedAt: Date | null;
}

const purchaseSchema = new Schema<PurchaseDoc>(
  {
    key: { type: String, required: true },
    storeId: String,
    receiptId: String,
    bodyHash: String,
    card: String,
    memberId: { type: String, default: null },
    totalKopecks: Number,
    discountKopecks: Number,
    redeemPoints: Number,
    items: { type: [Schema.Types.Mixed], default: [] },
    levelId: String,
    percentBp: Number,
    settingsVersion: Number,
    baseKopecks: Number,
    accrued: Number,
    status: { type: String, enum: ['pending', 'done'] },
    result: { type: Schema.Types.Mixed, default: null },
    refundedKopecks: { type: Number, default: 0 },
    clawedBack: { type: Number, default: 0 },
    returned: { type: Number, default: 0 },
    refunds: { type: Schema.Types.Mixed, default: [] },
    version: { type: Number, default: 0 },
    createdAt: Date,
    completedAt: { type: Date, default: null },
  },
  { collection: 'purchases', versionKey: false },
);
purchaseSchema.index({ key: 1 }, { unique: true });
purchaseSchema.index({ status: 1, createdAt: 1 });
purchaseSchema.index({ card: 1, createdAt: -1 });

export interface RefundResult {
  refundId: string;
  clawedBack: number;
  returned: number;
  balance: number;
  shortfall: number;
}

/** A refund claim; `_id` = store + refund id, so a till's retried refund is found again. */
export interface RefundDoc {
  _id: string;
  purchaseKey: string;
  bodyHash: string;
  amountKopecks: number;
  status: 'pending' | 'done';
  result: RefundResult | null;
  createdAt: Date;
}
const refundSchema = new Schema<RefundDoc>(
  {
    _id: String,
    purchaseKey: String,
    bodyHash: String,
    amountKopecks: Number,
    status: { type: String, enum: ['pending', 'done'] },
    result: { type: Schema.Types.Mixed, default: null },
    createdAt: Date,
  },
  { collection: 'refunds', versionKey: false },
);
refundSchema.index({ status: 1, createdAt: 1 });

export function purchaseModels(conn: Connection) {
  return {
    Purchases: (conn.models.Purchase as Model<PurchaseDoc> | undefined) ?? conn.model<PurchaseDoc>('Purchase', purchaseSchema),
    Refunds: (conn.models.Refund as Model<RefundDoc> | undefined) ?? conn.model<RefundDoc>('Refund', refundSchema),
  };
}
