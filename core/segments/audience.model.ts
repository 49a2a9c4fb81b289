import { Schema, type Connection, type Model, type Types } from 'mongoose';

/**
 * One member as segments see them: every field a rule may test, in one document, because
 * FerretDB v1 has no $lookup. Built in bulk by the audience pass into a fresh collection
 * (`audience_<run>`, inserts only: on FerretDB an update scans its whole collection) and
 * swapped in when complete; no personal data (no phone, no name) is copied here.
 */
export interface AudienceDoc {
  _id: Types.ObjectId;
  joinedAt: Date | null;
  joinMonth: string | null;
  channel: string;
  imported: boolean;
  level: string;
  purchases: number;
  spentKopecks: number;
  lastPurchaseAt: Date | null;
  earned: number;
  redeemed: number;
  expired: number;
  balance: number;
  referrals: number;
  contests: number;
  channels: string[];
  hasPass: boolean;
  reachable: string[];
  rfmR: number | null;
  rfmF: number | null;
  rfmM: number | null;
  rfmGroup: string | null;
}

/** What the members report and the LTV report read: tallied while the audience is built. */
export interface AudienceSnapshot {
  collection: string;
  run: string;
  at: string;
  members: number;
  purchasers: number;
  rfmGroups: Record<string, number>;
  /** Members per R × F cell, keyed `${r}${f}` (1–5 each); absent in snapshots made before it was counted. */
  rfmGrid?: Record<string, number>;
  byJoinChannel: Record<string, number>;
  usingChannel: Record<string, number>;
  withPass: number;
  reachable: Record<string, number>;
  byLevel: Record<string, { members: number; spentKopecks: number }>;
  byCohort: Record<string, { members: number; spentKopecks: number }>;
}

/** A saved segment: a name and its rules. */
export interface SegmentDoc {
  _id: string;
  name: string;
  rules: unknown;
  createdAt: Date;
  updatedAt: Date;
}

const segmentSchema = new Schema<SegmentDoc>({ _id: String, name: String, rules: Schema.Types.Mixed, createdAt: Date, updatedAt: Date }, { collection: 'segments', versionKey: false });

export function segmentModel(conn: Connection): Model<SegmentDoc> {
  return (conn.models.Segment as Model<SegmentDoc> | undefined) ?? conn.model<SegmentDoc>('Segment', segmentSchema);
}

/** The audience collection of a build (raw driver collection: its name changes per build). */
export function audienceCollection(conn: Connection, name: string) {
  return conn.collection<AudienceDoc>(name);
}
