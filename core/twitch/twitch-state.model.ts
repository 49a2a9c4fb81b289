import { Schema, type Connection, type Model } from 'mongoose';

/** The channel-point reward of a contest: created once per contest and broadcaster. */
export interface TwitchRewardDoc {
  /** The contest id. */
  _id: string;
  broadcasterId: string;
  rewardId: string;
  title: string;
  createdAt: Date;
  /** Set once the contest stopped taking entries and its last redemptions were answered (the reward is disabled then). */
  retiredAt: Date | null;
  retiredReason: string | null;
}

export type RedemptionOutcome = 'FULFILLED' | 'CANCELED';

/**
 * A redemption we took on. The unique `_id` (the redemption id) is written before anything
 * else, so a restart or a second poller never enters it twice; the outcome is written before
 * Helix is told, so a failed status update is only re-sent.
 */
export interface TwitchRedemptionDoc {
  _id: string;
  contestId: string;
  rewardId: string;
  broadcasterId: string;
  account: string;
  claimedAt: Date;
  /** null while the entry is being made. */
  outcome: RedemptionOutcome | null;
  /** The refusal code of a CANCELED one. */
  reason: string | null;
  entryId: string | null;
  decidedAt: Date | null;
  /** When Helix accepted the status (or said the redemption was no longer unfulfilled). */
  sentAt: Date | null;
  sendAttempts: number;
}

const rewardSchema = new Schema<TwitchRewardDoc>(
  {
    _id: { type: String, required: true },
    broadcasterId: { type: String, required: true },
    rewardId: { type: String, required: true },
    title: { type: String, required: true },
    createdAt: { type: Date, required: true },
    retiredAt: { type: Date, default: null },
    retiredReason: { type: String, default: null },
  },
  { collection: 'twitch_rewards', versionKey: false },
);
rewardSchema.index({ broadcasterId: 1, retiredAt: 1 });

const redemptionSchema = new Schema<TwitchRedemptionDoc>(
  {
    _id: { type: String, required: true },
    contestId: { type: String, required: true },
    rewardId: { type: String, required: true },
    broadcasterId: { type: String, required: true },
    account: { type: String, required: true },
    claimedAt: { type: Date, required: true },
    outcome: { type: String, default: null },
    reason: { type: String, default: null },
    entryId: { type: String, default: null },
    decidedAt: { type: Date, default: null },
    sentAt: { type: Date, default: null },
    sendAttempts: { type: Number, default: 0 },
  },
  { collection: 'twitch_redemptions', versionKey: false },
);
redemptionSchema.index({ contestId: 1 });

export type TwitchRewardModel = Model<TwitchRewardDoc>;
export type TwitchRedemptionModel = Model<TwitchRedemptionDoc>;

export function twitchModels(conn: Connection): { Rewards: TwitchRewardModel; Redemptions: TwitchRedemptionModel } {
  return {
    Rewards: (conn.models.TwitchReward as TwitchRewardModel | undefined) ?? conn.model<TwitchRewardDoc>('TwitchReward', rewardSchema),
    Redemptions: (conn.models.TwitchRedemption as TwitchRedemptionModel | undefined) ?? conn.model<TwitchRedemptionDoc>('TwitchRedemption', redemptionSchema),
  };
}
