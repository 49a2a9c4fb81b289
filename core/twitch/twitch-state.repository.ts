import type { Connection } from 'mongoose';
import { isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import { twitchModels, type TwitchRedemptionDoc, type TwitchRewardDoc } from './twitch-state.model.js';

/**
 * What the giveaway remembers: each contest's reward, and each redemption it took on (claimed
 * by a unique `_id` before anything else, its outcome stored before Helix is told).
 */
export function createTwitchStateRepository(conn: Connection) {
  const { Rewards, Redemptions } = twitchModels(conn);
  return {
    async init(): Promise<void> {
      await Promise.all([Rewards.createIndexes(), Redemptions.createIndexes()]);
    },

    rewardOf(contestId: string): Promise<TwitchRewardDoc | null> {
      return Rewards.findById(contestId).lean<TwitchRewardDoc>();
    },

    async saveReward(doc: TwitchRewardDoc): Promise<void> {
      await Rewards.collection.replaceOne({ _id: doc._id } as unknown as Parameters<typeof Rewards.collection.replaceOne>[0], doc, { upsert: true });
    },

    /** The broadcaster's rewards not retired yet. */
    liveRewards(broadcasterId: string): Promise<TwitchRewardDoc[]> {
      return Rewards.find({ broadcasterId, retiredAt: null }).lean<TwitchRewardDoc[]>();
    },

    async retireReward(contestId: string, reason: string, at: Date): Promise<void> {
      await Rewards.updateOne({ _id: contestId }, { $set: { retiredAt: at, retiredReason: reason } });
    },

    /** Inserts the claim; false when the redemption was claimed before (by us or another poller). */
    async claim(doc: TwitchRedemptionDoc): Promise<boolean> {
      try {
        await insertRaw(Redemptions, doc);
        return true;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        return false;
      }
    },

    redemption(id: string): Promise<TwitchRedemptionDoc | null> {
      return Redemptions.findById(id).lean<TwitchRedemptionDoc>();
    },

    /** Takes over a claim left without an outcome, unless another poller just did. */
    async takeOver(id: string, claimedAt: Date, now: Date): Promise<boolean> {
      const took = await Redemptions.updateOne({ _id: id, outcome: null, claimedAt }, { $set: { claimedAt: now } });
      return took.modifiedCount === 1;
    },

    /** Makes an undecided claim stale at once, so the next poll takes it over. */
    async release(id: string): Promise<void> {
      await Redemptions.updateOne({ _id: id, outcome: null }, { $set: { claimedAt: new Date(0) } });
    },

    async decide(id: string, decided: Pick<TwitchRedemptionDoc, 'outcome' | 'reason' | 'entryId' | 'decidedAt'>): Promise<void> {
      await Redemptions.updateOne({ _id: id }, { $set: decided });
    },

    async countSendAttempt(id: string): Promise<void> {
      await Redemptions.updateOne({ _id: id }, { $inc: { sendAttempts: 1 } });
    },

    /** Erasure: the member's redemptions keep their outcome but no longer name the Twitch account. */
    async forgetAccounts(accounts: readonly string[]): Promise<void> {
      if (accounts.length > 0) await Redemptions.updateMany({ account: { $in: [...accounts] } }, { $set: { account: 'erased' } });
    },

    async markSent(id: string, at: Date): Promise<void> {
      await Redemptions.updateOne({ _id: id }, { $set: { sentAt: at } });
    },
  };
}
export type TwitchStateRepository = ReturnType<typeof createTwitchStateRepository>;
