import { Types, type Connection } from 'mongoose';
import { memberModels, type MemberStats } from '../members/member.model.js';
import { createKeyedQueue } from '../shared/keyed-queue.js';

/**
 * The members' insight fields: the counters copy (`stats`), the referral count of the profile,
 * and the join date the retention cells are keyed by. Every write addresses one member by `_id`.
 * A malformed member id finds nobody (no cast error).
 *
 * `guarded` (MongoDB) puts the "newer seq" test into the update's filter. FerretDB v1 looks a
 * document up by index only when the filter is `_id` alone and scans the whole collection
 * otherwise (a members scan per ledger event: at 100,000 members the consumer fell behind any
 * till), so there the copy is read by `_id`, compared, and written by `_id`, one member at a
 * time per process (a keyed queue). Two worker processes handling two events of one member at
 * the same instant could leave the older copy until the member's next movement; the card, which
 * the till and the bots read, is never affected.
 */
export function createMemberStatsRepository(conn: Connection, opts: { guarded: boolean } = { guarded: true }) {
  const { Members } = memberModels(conn);
  const turns = createKeyedQueue();
  return {
    /** Replaces the member's counters copy when `stats.seq` is older than the given one; true when it did. */
    async replaceStatsIfNewer(memberId: string, stats: MemberStats): Promise<boolean> {
      if (!Types.ObjectId.isValid(memberId)) return false;
      const _id = new Types.ObjectId(memberId);
      if (opts.guarded) {
        // A member without stats yet has no `stats.seq`, hence the $or: `{$lt}` never matches a missing field.
        const r = await Members.collection.updateOne({ _id, $or: [{ 'stats.seq': { $lt: stats.seq } }, { 'stats.seq': { $exists: false } }] }, { $set: { stats } });
        return r.modifiedCount === 1;
      }
      return turns.run(memberId, Date.now() + 60_000, async () => {
        const m = await Members.collection.findOne({ _id }, { projection: { 'stats.seq': 1 } });
        const seq = (m?.stats as { seq?: number } | undefined)?.seq;
        if (!m || (seq !== undefined && seq >= stats.seq)) return false;
        const r = await Members.collection.updateOne({ _id }, { $set: { stats } });
        return r.modifiedCount === 1;
      });
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
