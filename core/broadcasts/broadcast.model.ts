import { Schema, type Connection, type Model } from 'mongoose';
import type { EngineAudience, BroadcastButton, BroadcastChannel, BroadcastStatus, ChannelCounts, Recipients } from './broadcast.types.js';

/**
 * A broadcast (a marketer's campaign or an automation's run): what, to whom, and its counts per
 * channel, kept by atomic `$inc` as deliveries change state (never recounted).
 */
export interface BroadcastDoc {
  _id: string;
  kind: 'campaign' | 'automation' | 'test';
  /** For automations: which one and its once-only key (`expiring:<member>:<date>`); absent for campaigns. */
  automation?: string;
  text: string;
  /** Per language for automations (their texts come from locales/); campaigns use `text` for all. */
  texts?: Partial<Record<'ru' | 'en', string>>;
  audience: EngineAudience;
  channels: BroadcastChannel[];
  button: BroadcastButton | null;
  scheduledAt: Date | null;
  holdoutPercent: number;
  ignoreQuietHours: boolean;
  status: BroadcastStatus;
  recipients: Recipients;
  counts: Record<BroadcastChannel, ChannelCounts>;
  holdout: number;
  unsubscribed: number;
  /** Planning: the last audience cursor whose page is written; done when `planned`. */
  cursor: string | null;
  planned: boolean;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** When a delivery last settled (its counters moved); absent until one has. The sweep for stuck deliveries waits for a quiet spell. */
  progressAt?: Date;
}

const broadcastSchema = new Schema<BroadcastDoc>(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true },
    automation: String,
    text: { type: String, required: true },
    texts: Schema.Types.Mixed,
    audience: { type: Schema.Types.Mixed, required: true },
    channels: [String],
    button: { type: Schema.Types.Mixed, default: null },
    scheduledAt: { type: Date, default: null },
    holdoutPercent: Number,
    ignoreQuietHours: Boolean,
    status: { type: String, required: true },
    recipients: Schema.Types.Mixed,
    counts: Schema.Types.Mixed,
    holdout: Number,
    unsubscribed: Number,
    cursor: { type: String, default: null },
    planned: Boolean,
    createdAt: Date,
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
    progressAt: Date,
  },
  { collection: 'broadcasts', versionKey: false, minimize: false },
);
broadcastSchema.index({ createdAt: -1 });

/**
 * One marketing message counted for a member (the frequency cap), `_id` = `${memberId}:${broadcastId}`.
 * Insert-only, so a retried page counts nothing twice and no update scans the collection
 * (FerretDB v1 scans a whole collection for every update); records past the cap window are
 * deleted hourly by the worker's tick (broadcasts.pruneCaps).
 */
export interface MarketingSendDoc {
  _id: string;
  memberId: string;
  b: string;
  at: Date;
}
const capSchema = new Schema<MarketingSendDoc>(
  { _id: { type: String, required: true }, memberId: { type: String, required: true }, b: String, at: Date },
  { collection: 'marketing_sends', versionKey: false },
);
capSchema.index({ memberId: 1, at: 1 });

export type BroadcastModel = Model<BroadcastDoc>;
export type MarketingCapModel = Model<MarketingSendDoc>;

export function broadcastModels(conn: Connection) {
  return {
    Broadcasts: (conn.models.Broadcast as BroadcastModel | undefined) ?? conn.model<BroadcastDoc>('Broadcast', broadcastSchema),
    Caps: (conn.models.MarketingSend as MarketingCapModel | undefined) ?? conn.model<MarketingSendDoc>('MarketingSend', capSchema),
  };
}

export const emptyCounts = (): ChannelCounts => ({ queued: 0, sent: 0, failed: 0, blocked: 0, skipped: 0 });
