import { Types, type Connection } from 'mongoose';
import { memberModels, type MemberStats } from '../members/member.model.js';

/**
 * The members' insight fields: the counters copy (`stats`), the referral count of the profile,
 * and the join date the retention cells are keyed by. Every write addresses one member by `_id`.
 * A malformed member id finds nobody (no cast error).
 */
export function createMemberStatsRepository(conn: Connection) {
  const { Members } = memberModels(conn);
  return {
    /**
     * Replaces the member's counters copy when `stats.seq` is older than the given one:
     * `updateOne({_id, stats.seq < seq}, {$set})`. (A member without stats yet has no
     * `stats.seq`, hence the $or; `{$lt}` never matches a missing field, on MongoDB and
     * FerretDB alike.) True when it replaced the copy.
     */
    async replaceStatsIfNewer(memberId: string, stats: MemberStats): Promise<boolean> {
      if (!Types.ObjectId.isValid(memberId)) return false;
      const r = await Members.collection.updateOne(
        { _id: new Types.ObjectId(memberId), $or: [{ 'stats.seq': { $lt: stats.seq } }, { 'stats.seq': { $exists: false } }] },
        { $set: { stats } },
      );
      return r.modifiedCount === 1;
    },

    /** When the member joined (registered, else created); null for nobody. */
    async joinedAt(memberId: string): Promise<Date | null> {
      if (!Types.ObjectId.isValid(memberId)) return null;
      const m = await Members.findById(memberId, { registeredAt: 1, createdAt: 1 }).lean();
      return m?.registeredAt ?? m?.createdAt ?? null;
    },

    /** Sets the profile's referral count to the members this one invited: a recount, not an increment. */
    async recountReferrals(memberId: string): Promise<void> {
      if (!Types.ObjectId.isValid(memberId)) return;
      const referrals = await Members.countDocuments({ referrerId: memberId });
      await Members.collection.updateOne({ _id: new Types.ObjectId(memberId) }, { $set: { 'profile.referrals': referrals } });
    },
  };
}
export type MemberStatsRepository = ReturnType<typeof createMemberStatsRepository>;
