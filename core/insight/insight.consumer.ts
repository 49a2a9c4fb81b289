import type { DailyStats } from './daily-stats.service.js';
import type { MemberStatsMirror } from './member-stats.mirror.js';
import type { MemberStatsRepository } from './member-stats.repository.js';
import { parsePointsChanged } from './points-event.parse.js';
import { shopMonth } from './shop-time.js';

/**
 * The audience side of the ledger's events: each `points.changed` updates the member's
 * counters copy (newer seq wins), the day's facts (once per event id) and, for a referral
 * bonus of a referrer, the member's referral count. Every step is idempotent, so the job may
 * run any number of times and in any order.
 */
export function createInsightConsumer(deps: { members: Pick<MemberStatsRepository, 'joinedAt' | 'recountReferrals'>; mirror: MemberStatsMirror; daily: DailyStats; timeZone: string }) {
  async function joinMonth(memberId: string): Promise<string | null> {
    const at = await deps.members.joinedAt(memberId);
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
      // A recount, not an increment: the same event twice gives the same number.
      if (mv.operation === 'referral' && mv.role === 'referrer' && mv.memberId) await deps.members.recountReferrals(mv.memberId);
      return 'applied';
    },
  };
}
