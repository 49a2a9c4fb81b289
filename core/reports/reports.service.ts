import type { DailyStats } from '../insight/daily-stats.service.js';
import type { MemberCounts, MemberCountsView } from '../insight/member-counts.js';
import { addDays, monthsBetween, parsePeriod, shopDay, type Period } from '../insight/shop-time.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import type { SegmentService } from '../segments/segment.service.js';
import { broadcastReport, type BroadcastReportInput } from './broadcast.report.js';
import type { ReportsRepository } from './reports.repository.js';

export type PeriodInput = { from?: string | undefined; to?: string | undefined };
const DAY = 86_400_000;
const ratio = (a: number, b: number): number => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : 0);
const lastDayOf = (month: string): string => addDays(`${monthsBetween(month, `${month.slice(0, 4)}-12`)[1] ?? `${Number(month.slice(0, 4)) + 1}-01`}-01`, -1);

/**
 * The reports. Amounts in kopecks, points in points, days and months in the shop's zone.
 * They read the daily documents (rolled up from the outbox's facts), the member counts by day
 * (core/insight/member-counts.ts) and the audience snapshot: never a count or an aggregation
 * over the whole base per figure. Both are refreshed on read while that is cheap, and in the
 * background on a large base; `asOf` says when the member counts were taken.
 */
export function createReports(deps: { repo: ReportsRepository; daily: DailyStats; counts: MemberCounts; segments: SegmentService; settings: () => Promise<ProgrammeSettings>; clock: Clock; timeZone: string }) {
  const repo = deps.repo;
  const period = (p: PeriodInput): Period => parsePeriod(p, deps.clock.now(), deps.timeZone);

  function membersCounts(c: MemberCountsView, p: Period): { total: number; new: number } {
    // Imported members joined the old programme: they are not new here.
    return { total: c.joined(null, p.to), new: c.joined(p.from, p.to, { fresh: true }) };
  }

  async function pointsOf(p: Period) {
    await deps.daily.fresh();
    const s = await deps.daily.sum(p.from, p.to);
    const upToEnd = await deps.daily.sum('0000-01-01', p.to);
    const issued = s.accrued + s.credited - s.clawedBack;
    const redeemed = s.redeemed - s.returned;
    const settings = await deps.settings();
    return {
      s,
      points: {
        issued,
        redeemed,
        expired: s.expired,
        adjustedOut: s.debited,
        imported: s.imported,
        outstanding: upToEnd.net,
        outstandingKopecks: upToEnd.net * settings.pointValueKopecks,
        redemptionRate: ratio(redeemed, issued),
      },
    };
  }

  const periodOut = (p: Period) => ({ from: p.from, to: p.to, timeZone: p.timeZone });

  return {
    async summary(input: PeriodInput) {
      const p = period(input);
      const [{ s, points }, c] = await Promise.all([pointsOf(p), deps.counts.get()]);
      const revenue = s.revenueKopecks - s.refundKopecks;
      return {
        period: periodOut(p),
        countedAt: c.asOf.toISOString(),
        members: membersCounts(c, p),
        points: { issued: points.issued, redeemed: points.redeemed, expired: points.expired, outstanding: points.outstanding },
        purchases: { count: s.purchases, revenue, refunds: s.refunds, averageReceipt: s.purchases ? Math.round(revenue / s.purchases) : 0 },
      };
    },

    async members(input: PeriodInput) {
      const p = period(input);
      const c = await deps.counts.get();
      const snap = await deps.segments.snapshot();
      return {
        period: periodOut(p),
        countedAt: c.asOf.toISOString(),
        ...membersCounts(c, p),
        newByDay: c.freshByDay(p.from, p.to),
        // As of the last audience pass (`asOf`).
        asOf: snap?.at ?? null,
        byJoinChannel: snap?.byJoinChannel ?? {},
        usingChannel: snap?.usingChannel ?? {},
        withPass: snap?.withPass ?? 0,
        reachable: snap?.reachable ?? {},
      };
    },

    async activity(input: PeriodInput) {
      const p = period(input);
      const now = deps.clock.now();
      const [{ s }, c] = await Promise.all([pointsOf(p), deps.counts.get()]);
      const total = c.total;
      const [active30, active90] = [30, 90].map((d) => c.boughtSince(new Date(now.getTime() - d * DAY)));
      // Buyers are counted per calendar month (a member buying in two months counts twice).
      const months = new Set(monthsBetween(p.from.slice(0, 7), p.to.slice(0, 7)));
      let buyerMonths = 0;
      for (const c of await repo.buyerCells()) if (months.has(c._id.split('|')[1] ?? '')) buyerMonths += c.n;
      const revenue = s.revenueKopecks - s.refundKopecks;
      return {
        period: periodOut(p),
        countedAt: c.asOf.toISOString(),
        members: total,
        active30: { count: active30 ?? 0, share: ratio(active30 ?? 0, total) },
        active90: { count: active90 ?? 0, share: ratio(active90 ?? 0, total) },
        purchases: s.purchases,
        revenue,
        averageReceipt: s.purchases ? Math.round(revenue / s.purchases) : 0,
        buyerMonths,
        purchasesPerBuyerMonth: ratio(s.purchases, buyerMonths),
      };
    },

    async points(input: PeriodInput) {
      const p = period(input);
      return { period: periodOut(p), ...(await pointsOf(p)).points };
    },

    async retention(input: PeriodInput) {
      const p = period(input);
      const [, c] = await Promise.all([deps.daily.fresh(), deps.counts.get()]);
      const joinMonths = monthsBetween(p.from.slice(0, 7), p.to.slice(0, 7));
      const buyers = await deps.daily.buyersByCohort(joinMonths);
      const lastMonth = shopDay(deps.clock.now(), deps.timeZone).slice(0, 7);
      const cohorts = [];
      for (const cohort of joinMonths) {
        const size = c.joined(`${cohort}-01`, lastDayOf(cohort));
        const months = monthsBetween(cohort, lastMonth).map((month, i) => {
          const n = buyers.get(`${cohort}|${month}`) ?? 0;
          return { month, offset: i, buyers: n, share: ratio(n, size) };
        });
        cohorts.push({ cohort, members: size, months });
      }
      const now = deps.clock.now();
      const withPurchases = c.buyers;
      const churned = c.lapsedBefore(new Date(now.getTime() - 90 * DAY));
      return { period: periodOut(p), countedAt: c.asOf.toISOString(), cohorts, churn: { buyers: withPurchases, churned, share: ratio(churned, withPurchases) } };
    },

    async ltv() {
      const snap = await deps.segments.snapshot();
      const avg = (o: Record<string, { members: number; spentKopecks: number }>) =>
        Object.entries(o)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([key, v]) => ({ key, members: v.members, spentKopecks: v.spentKopecks, averageKopecks: v.members ? Math.round(v.spentKopecks / v.members) : 0 }));
      return { asOf: snap?.at ?? null, byLevel: avg(snap?.byLevel ?? {}), byCohort: avg(snap?.byCohort ?? {}) };
    },

    async referrals(input: PeriodInput) {
      const p = period(input);
      const [opened, c] = await Promise.all([repo.referralOpens(p), deps.counts.get()]);
      return { period: periodOut(p), countedAt: c.asOf.toISOString(), opened, joined: c.joined(p.from, p.to, { referred: 'all' }), firstPurchase: c.joined(p.from, p.to, { referred: 'bought' }) };
    },

    async contests(input: PeriodInput) {
      const p = period(input);
      const list = await repo.contestsWithin(p);
      const out = [];
      for (const c of list) {
        let entries = 0;
        let newMembers = 0;
        let page: string[] = [];
        const count = async (): Promise<void> => {
          // Brought by the contest: joined while it was open, then entered it.
          newMembers += await repo.newAmong(page, { start: c.opensAt, end: c.closesAt });
          page = [];
        };
        for await (const memberId of repo.contestEntrants(c._id)) {
          entries++;
          if (memberId) page.push(memberId);
          if (page.length >= 500) await count();
        }
        if (page.length) await count();
        out.push({ id: c._id, title: c.title, opensAt: c.opensAt.toISOString(), closesAt: c.closesAt.toISOString(), entries, newMembers });
      }
      return { period: periodOut(p), contests: out };
    },

    /** One broadcast against its holdout; the broadcast engine supplies the input (see BroadcastReportInput). */
    broadcast: (input: BroadcastReportInput) => broadcastReport(repo, input),
  };
}
