import type { MemberStats } from '../members/member.model.js';
import type { MemberStatsRepository } from './member-stats.repository.js';
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
 * A snapshot replaces the copy only when its `seq` (card version) is newer (the guarded write
 * of member-stats.repository.ts). So a repeated event (a retried job, a replayed relay) and an
 * older event arriving late both change nothing: idempotent and order-tolerant without any
 * claim document.
 */
export function createMemberStatsMirror(repo: Pick<MemberStatsRepository, 'replaceStatsIfNewer'>) {
  return {
    /** True when the snapshot was newer and replaced the copy. */
    async apply(s: CountersSnapshot): Promise<boolean> {
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
      return repo.replaceStatsIfNewer(s.memberId, stats);
    },
  };
}
export type MemberStatsMirror = ReturnType<typeof createMemberStatsMirror>;
