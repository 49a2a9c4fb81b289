import { Schema, type Connection, type Model } from 'mongoose';

/** One fixed window of one limit: `_id` = `<scope>:<hashed key>:<window number>`, counted by one atomic upsert. */
export interface RateCounterDoc {
  _id: string;
  count: number;
  /** The end of the window: the maintenance job deletes counters past it. */
  expiresAt: Date;
}

const rateCounterSchema = new Schema<RateCounterDoc>(
  { _id: { type: String, required: true }, count: { type: Number, required: true }, expiresAt: { type: Date, required: true } },
  { collection: 'rate_counters', versionKey: false },
);

export type RateCounterModel = Model<RateCounterDoc>;

export function rateCounterModel(conn: Connection): RateCounterModel {
  return (conn.models.RateCounter as RateCounterModel | undefined) ?? conn.model<RateCounterDoc>('RateCounter', rateCounterSchema);
}
