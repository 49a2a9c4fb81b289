import { systemClock, type Clock } from '../shared/clock.js';
import type { DailyStatsRepository } from './daily-stats.repository.js';
import { DAILY_FIELDS, PARTNER_FIELDS, zeroDaily, type DailyValues, type FactDoc } from './insight.model.js';
import type { InsightMovement } from './points-event.parse.js';
import { createRefresher } from './refresher.js';
import { shopDay, shopMonth } from './shop-time.js';

/** The partner cell of receipts at stores without a partner (the programme's own). */
export const NO_PARTNER = '-';

/** What one movement adds to its day. */
export function dailyValuesOf(m: InsightMovement): Partial<DailyValues> {
  const v: Partial<DailyValues> = { net: m.amount };
  if (m.imported) {
    v.imported = m.amount;
    return v;
  }
  const l = m.lines;
  if (l.accrual) v.accrued = l.accrual;
  if (l.credit) v.credited = l.credit;
  if (l.redemption) v.redeemed = l.redemption;
  if (l.return) v.returned = l.return;
  if (l.clawback) v.clawedBack = l.clawback;
  if (l.debit) v.debited = l.debit;
  if (l.expiry) v.expired = l.expiry;
  if (m.operation === 'purchase') {
    v.purchases = 1;
    v.revenueKopecks = m.spendDeltaKopecks;
  } else if (m.operation === 'refund') {
    v.refunds = 1;
    v.refundKopecks = -m.spendDeltaKopecks;
  }
  return v;
}

/**
 * Daily stats fed by the outbox, exactly once under retries: each event becomes one fact whose
 * `_id` is the event id (the insert is the claim; a BullMQ job run twice inserts nothing the
 * second time), and a roll-up recomputes each touched day from its facts (see
 * rollup.repository.ts). Reports roll up first when that is cheap (`fresh`), then read one document per day.
 */
export function createDailyStats(deps: { repo: DailyStatsRepository; timeZone: string; clock?: Clock; options?: Partial<{ liveUnderMs: number; staleAfterMs: number }>; onBackgroundError?: (err: unknown) => void }) {
  const repo = deps.repo;
  const clock = deps.clock ?? systemClock;
  async function rollup(): Promise<number> {
    const t0 = performance.now();
    const at = clock.now();
    const n = await repo.rollup(clock);
    await repo.saveRollup(at, Math.round(performance.now() - t0));
    return n;
  }
  // Every day document, kept in memory until a roll-up (in any process) writes a new version:
  // a report then reads one small document instead of all the days (730 of them after two years).
  let cache: { version: string; days: Awaited<ReturnType<DailyStatsRepository['days']>> } | null = null;
  async function days(from: string, to: string): Promise<Awaited<ReturnType<DailyStatsRepository['days']>>> {
    const last = await repo.lastRollup();
    if (!last) return repo.days(from, to);
    if (cache?.version !== last.version) cache = { version: last.version, days: await repo.days('0000-01-01', '9999-12-31') };
    return cache.days.filter((d) => d._id >= from && d._id <= to);
  }

  // Reports roll up first when that is cheap; on a large base the worker's schedule and a
  // background roll-up keep the days fresh instead (refresher.ts).
  const refresher = createRefresher({
    run: async () => {
      await rollup();
    },
    last: () => repo.lastRollup(),
    liveUnderMs: deps.options?.liveUnderMs ?? 300,
    staleAfterMs: deps.options?.staleAfterMs ?? 300_000,
    now: () => clock.now(),
    onBackgroundError: deps.onBackgroundError ?? (() => undefined),
  });
  return {
    init: (): Promise<void> => repo.init(),

    /** Records a movement's day fact and, for a purchase, the member's purchase month. Idempotent. */
    async record(mv: InsightMovement, joinMonth: string | null): Promise<boolean> {
      const fact: FactDoc = { _id: mv.eventId, cell: shopDay(mv.at, deps.timeZone), at: mv.at, memberId: mv.memberId, rolled: false, ...dailyValuesOf(mv) };
      const fresh = await repo.insertFact(fact);
      if (mv.operation === 'purchase' || mv.operation === 'refund') {
        // The partner's share of the day: what its stores issued and took (a store without a partner counts as '-').
        const v = dailyValuesOf(mv);
        const sums = Object.fromEntries(PARTNER_FIELDS.filter((f) => v[f] !== undefined).map((f) => [f, v[f]]));
        await repo.insertPartnerFact({ _id: fact._id, cell: `${fact.cell}|${mv.partnerId ?? NO_PARTNER}`, at: fact.at, memberId: null, rolled: false, ...sums });
      }
      if (mv.operation === 'purchase' && mv.memberId) {
        const month = shopMonth(mv.at, deps.timeZone);
        await repo.insertBuyerMonth({ _id: `${month}:${mv.memberId}`, cell: `${joinMonth ?? 'unknown'}|${month}`, memberId: mv.memberId, rolled: false });
      }
      return fresh;
    },

    /** A referral link opened (the funnel's first step): once per person and link. */
    async referralOpened(input: { code: string; referrerId: string; account: string }): Promise<void> {
      await repo.insertReferralOpen({ _id: `${input.code}|${input.account}`, code: input.code, referrerId: input.referrerId, at: clock.now() });
    },

    /** Folds new facts into days and retention cells; returns how many cells it recomputed. */
    rollup,

    /** Rolls up before a report when that is cheap, else in the background (see above). */
    fresh: async (): Promise<void> => {
      await refresher.fresh();
    },

    /** Sums of the days `from`..`to` (shop days, inclusive). Call rollup() first for up-to-date sums. */
    async sum(from: string, to: string): Promise<DailyValues> {
      const total = zeroDaily();
      for (const d of await days(from, to)) for (const f of DAILY_FIELDS) total[f] += d.v[f] ?? 0;
      return total;
    },

    /** Each day's sums (days without activity are absent). */
    async byDay(from: string, to: string): Promise<Map<string, DailyValues>> {
      return new Map((await days(from, to)).map((d) => [d._id, { ...zeroDaily(), ...d.v }]));
    },

    /** Each partner's sums over the days `from`..`to` (key: partner id, or NO_PARTNER). Call rollup() first. */
    async byPartner(from: string, to: string): Promise<Map<string, DailyValues>> {
      const out = new Map<string, DailyValues>();
      for (const d of await repo.partnerDays(from, to)) {
        const partner = d._id.slice(d._id.indexOf('|') + 1);
        const total = out.get(partner) ?? zeroDaily();
        for (const f of DAILY_FIELDS) total[f] += d.v[f] ?? 0;
        out.set(partner, total);
      }
      return out;
    },

    /** Buyers per retention cell `<join month>|<month>` for the join months given. */
    buyersByCohort: (joinMonths: string[]): Promise<Map<string, number>> => repo.buyersByCohort(joinMonths),
  };
}
export type DailyStats = ReturnType<typeof createDailyStats>;
