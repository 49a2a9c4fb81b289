import { Schema, type Connection, type Model } from 'mongoose';

/** Sums a day carries; all integers (points, kopecks, counts). */
export const DAILY_FIELDS = [
  'accrued',
  'credited',
  'imported',
  'redeemed',
  'returned',
  'clawedBack',
  'debited',
  'expired',
  'net',
  'purchases',
  'revenueKopecks',
  'refunds',
  'refundKopecks',
] as const;
export type DailyField = (typeof DAILY_FIELDS)[number];
export type DailyValues = Record<DailyField, number>;

export function zeroDaily(): DailyValues {
  return Object.fromEntries(DAILY_FIELDS.map((f) => [f, 0])) as DailyValues;
}

/** What a partner's day carries: the points its stores issued and took, and its receipts. */
export const PARTNER_FIELDS = ['accrued', 'redeemed', 'clawedBack', 'returned', 'purchases', 'revenueKopecks', 'refunds', 'refundKopecks'] as const;

/**
 * One fact per event: `_id` is the event id, so inserting it IS the exactly-once claim (a
 * unique index says no to a second insert, whatever the server and however many connections).
 * `cell` names the aggregate it belongs to (a shop day); `rolled` is false until a roll-up
 * folded it into its cell.
 */
export type FactDoc = {
  _id: string;
  cell: string;
  at: Date;
  memberId: string | null;
  rolled: boolean;
  // The sums sit at the top level: FerretDB v1's $sum reads no dotted paths ('$v.x' sums to 0).
} & Partial<DailyValues>;

/** A purchase month of a member: `_id` = `<month>:<memberId>`, so one per member and month. */
export interface BuyerMonthDoc {
  _id: string;
  /** `<join month>|<month>`: the retention cell it counts in. */
  cell: string;
  memberId: string;
  rolled: boolean;
}

/** An aggregate cell (a day, a cohort × month) recomputed from its facts by the roll-up. */
export interface CellDoc {
  _id: string;
  v: Partial<DailyValues>;
  /** How many facts the sums include: facts only ever grow, so a larger `n` is the newer sum. */
  n: number;
  stale: boolean;
  at: Date;
}

/** A referral link opened: `_id` = `<referral code>|<account>`, one per person and link. */
export interface ReferralOpenDoc {
  _id: string;
  code: string;
  referrerId: string;
  at: Date;
}

/** Aggregates the audience pass leaves for reports (`_id` 'members', 'rfm'). */
export interface SnapshotDoc {
  _id: string;
  at: Date;
  data: Record<string, unknown>;
}

const mixed = Schema.Types.Mixed;
const factSchema = new Schema<FactDoc>(
  { _id: String, cell: String, at: Date, memberId: { type: String, default: null }, rolled: Boolean, ...Object.fromEntries(DAILY_FIELDS.map((f) => [f, Number])) },
  { collection: 'insight_facts', versionKey: false },
);
factSchema.index({ rolled: 1, cell: 1 });
factSchema.index({ cell: 1 });
factSchema.index({ memberId: 1, at: 1 });

const partnerFactSchema = new Schema<FactDoc>(
  { _id: String, cell: String, at: Date, memberId: { type: String, default: null }, rolled: Boolean, ...Object.fromEntries(PARTNER_FIELDS.map((f) => [f, Number])) },
  { collection: 'insight_partner_facts', versionKey: false },
);
partnerFactSchema.index({ rolled: 1, cell: 1 });
partnerFactSchema.index({ cell: 1 });

const buyerSchema = new Schema<BuyerMonthDoc>({ _id: String, cell: String, memberId: String, rolled: Boolean }, { collection: 'insight_buyer_months', versionKey: false });
buyerSchema.index({ rolled: 1, cell: 1 });
buyerSchema.index({ cell: 1 });

const cellSchema = (collection: string) =>
  new Schema<CellDoc>({ _id: String, v: mixed, n: Number, stale: Boolean, at: Date }, { collection, versionKey: false });

const openSchema = new Schema<ReferralOpenDoc>({ _id: String, code: String, referrerId: String, at: Date }, { collection: 'insight_referral_opens', versionKey: false });
openSchema.index({ at: 1 });

const snapshotSchema = new Schema<SnapshotDoc>({ _id: String, at: Date, data: mixed }, { collection: 'insight_snapshots', versionKey: false });

function model<T>(conn: Connection, name: string, schema: Schema<T>): Model<T> {
  return (conn.models[name] as Model<T> | undefined) ?? conn.model<T>(name, schema);
}

export function insightModels(conn: Connection) {
  return {
    Facts: model(conn, 'InsightFact', factSchema),
    Days: model(conn, 'InsightDay', cellSchema('insight_daily')),
    BuyerMonths: model(conn, 'InsightBuyerMonth', buyerSchema),
    Cohorts: model(conn, 'InsightCohort', cellSchema('insight_cohorts')),
    ReferralOpens: model(conn, 'InsightReferralOpen', openSchema),
    // Per partner and day (`<day>|<partnerId or ->`): a purchase's or refund's share, rolled up
    // like the days; read by `_id` range (the partner report).
    PartnerFacts: model(conn, 'InsightPartnerFact', partnerFactSchema),
    PartnerDays: model(conn, 'InsightPartnerDay', cellSchema('insight_partner_daily')),
    Snapshots: model(conn, 'InsightSnapshot', snapshotSchema),
  };
}
