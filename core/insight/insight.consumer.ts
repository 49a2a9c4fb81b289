import { Types, type Connection } from 'mongoose';
import { memberModels } from '../members/member.model.js';
import type { DailyStats } from './daily-stats.service.js';
import type { MemberStatsMirror } from './member-stats.mirror.js';
import { parsePointsChanged } from './points-event.parse.js';
import { shopMonth } from './shop-time.js';

/**
 * The audience side of the ledger's events: each `points.changed` updates the member's
 * counters copy (newer seq wins), the day's facts (once per event id) and, for a referral
 * bonus of a referrer, the member's referral count. Every step is idempotent, so the job may
 * run any number of times and in any order.
 */
export function createInsightConsumer(deps: { conn: Connection; mirror: MemberStatsMirror; daily: DailyStats; timeZone: string }) {
  const { Members } = memberModels(deps.conn);

  async function joinMonth(memberId: string): Promise<string | null> {
    if (!Types.ObjectId.isValid(memberId)) return null;
    const m = await Members.findById(memberId, { registeredAt: 1, createdAt: 1 }).lean();
    const at = m?.registeredAt ?? m?.createdAt;
    return at ? shopMonth(at, deps.timeZone) : null;
  }

  return {
    async handle(event: unknown): Promise<'applied' | 'ignored'> {
      const mv = parsePointsChanged(event);
      if (!mv) return 'ignored';
      if (mv.memberId) {
        await deps.mirror.apply({ memberId: mv.memberId, seq: mv.seq, counters: mv.counters, balance: mv.balance, levelId: mv.levelTo });
      }
      await deps.daily.record(mv, mv.operation === 'purchase' && mv.memberId ? await joinMonth(mv.memberId) : null);
      if (mv.operation === 'referral' && mv.role === 'referrer' && mv.memberId && Types.ObjectId.isValid(mv.memberId)) {
        // A recount, not an increment: the same event twice gives the same number.
        const referrals = await Members.countDocuments({ referrerId: mv.memberId });
        await Members.collection.updateOne({ _id: new Types.ObjectId(mv.memberId) }, { $set: { 'profile.referrals': referrals } });
      }
      return 'applied';
    },
  };
}
export type InsightConsumer = ReturnType<typeof createInsightConsumer>;
