import { Types, type Connection } from 'mongoose';
import { memberModels, type MemberStats } from '../members/member.model.js';
import type { MovementCounters } from './points-event.parse.js';

export interface CountersSnapshot {
  memberId: string;
  /** The card version the snapshot was taken at. */
  seq: number;
  counters: MovementCounters;
  balance: number;
  levelId: string | null;
}

/**
 * The member-side copy of the card's cumulative counters, for segments and reports.
 *
 * A snapshot replaces the copy only when its `seq` (card version) is newer:
 * `updateOne({_id, stats.seq < seq}, {$set})`. So a repeated event (a retried job, a replayed
 * relay) and an older event arriving late both change nothing: idempotent and order-tolerant
 * without any claim document. (A member without stats yet has no `stats.seq`, hence the $or;
 * `{$lt}` never matches a missing field, on MongoDB and FerretDB alike.)
 */
export function createMemberStatsMirror(conn: Connection) {
  const { Members } = memberModels(conn);
  return {
    /** True when the snapshot was newer and replaced the copy. */
    async apply(s: CountersSnapshot): Promise<boolean> {
      if (!Types.ObjectId.isValid(s.memberId)) return false;
      const stats: MemberStats = {
        seq: s.seq,
        purchases: s.counters.purchases,
        spentKopecks: s.counters.spentKopecks,
        lastPurchaseAt: s.counters.lastPurchaseAt,
        earned: s.counters.earned,
        redeemed: s.counters.redeemed,
        expired: s.counters.expired,
        balance: s.balance,
        levelId: s.levelId,
      };
      const r = await Members.collection.updateOne(
        { _id: new Types.ObjectId(s.memberId), $or: [{ 'stats.seq': { $lt: s.seq } }, { 'stats.seq': { $exists: false } }] },
        { $set: { stats } },
      );
      return r.modifiedCount === 1;
    },
  };
}
export type MemberStatsMirror = ReturnType<typeof createMemberStatsMirror>;
