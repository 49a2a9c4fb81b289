import type { DailyStats } from '../insight/daily-stats.service.js';
import { monthsBetween, parsePeriod, shopDay, startOfShopDay, type Period } from '../insight/shop-time.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import type { SegmentService } from '../segments/segment.service.js';
import { broadcastReport, type BroadcastReportInput } from './broadcast.report.js';
import type { ReportsRepository } from './reports.repository.js';

export type PeriodInput = { from?: string | undefined; to?: string | undefined };
const DAY = 86_400_000;
const ratio = (a: number, b: number): number => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : 0);
const nextMonth = (m: string): string => monthsBetween(m, `${m.slice(0, 4)}-12`)[1] ?? `${Number(m.slice(0, 4)) + 1}-01`;

/**
 * The reports. Amounts in kopecks, points in points, days and months in the shop's zone.
 * They read the daily documents (rolled up from the outbox's facts first: the work is what
 * happened since the last roll-up), the audience snapshot, and counts by indexed fields:
 * never an aggregation over the whole base.
 */
export function createReports(deps: { repo: ReportsRepository; daily: DailyStats; segments: SegmentService; settings: () => Promise<ProgrammeSettings>; clock: Clock; timeZone: string }) {
  const repo = deps.repo;
  const period = (p: PeriodInput): Period => parsePeriod(p, deps.clock.now(), deps.timeZone);

  async function membersCounts(p: Period): Promise<{ total: number; new: number }> {
    // Imported members joined the old programme: they are not new here.
    const [total, fresh] = await Promise.all([repo.joinedBefore(p.end), repo.newWithin(p)]);
    return { total, new: fresh };
  }

  async function pointsOf(p: Period) {
    await deps.daily.rollup();
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
      const { s, points } = await pointsOf(p);
      const revenue = s.revenueKopecks - s.refundKopecks;
      return {
        period: periodOut(p),
        members: await membersCounts(p),
        points: { issued: points.issued, redeemed: points.redeemed, expired: points.expired, outstanding: points.outstanding },
        purchases: { count: s.purchases, revenue, refunds: s.refunds, averageReceipt: s.purchases ? Math.round(revenue / s.purchases) : 0 },
      };
    },

    async members(input: PeriodInput) {
      const p = period(input);
      const counts = await membersCounts(p);
      const byDay = new Map<string, number>();
      for await (const at of repo.newJoinDates(p)) {
        const d = shopDay(at, deps.timeZone);
        byDay.set(d, (byDay.get(d) ?? 0) + 1);
      }
      const snap = await deps.segments.snapshot();
      return {
        period: periodOut(p),
        ...counts,
        newByDay: [...byDay].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, count]) => ({ day, count })),
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
      const { s } = await pointsOf(p);
      const total = await repo.members();
      const [active30, active90] = await Promise.all([30, 90].map((d) => repo.boughtSince(new Date(now.getTime() - d * DAY))));
      // Buyers are counted per calendar month (a member buying in two months counts twice).
      const months = new Set(monthsBetween(p.from.slice(0, 7), p.to.slice(0, 7)));
      let buyerMonths = 0;
      for (const c of await repo.buyerCells()) if (months.has(c._id.split('|')[1] ?? '')) buyerMonths += c.n;
      const revenue = s.revenueKopecks - s.refundKopecks;
      return {
        period: periodOut(p),
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
      await deps.daily.rollup();
      const joinMonths = monthsBetween(p.from.slice(0, 7), p.to.slice(0, 7));
      const buyers = await deps.daily.buyersByCohort(joinMonths);
      const lastMonth = shopDay(deps.clock.now(), deps.timeZone).slice(0, 7);
      const cohorts = [];
      for (const cohort of joinMonths) {
        const start = startOfShopDay(`${cohort}-01`, deps.timeZone);
        const end = startOfShopDay(`${nextMonth(cohort)}-01`, deps.timeZone);
        const size = await repo.joinedWithin({ start, end });
        const months = monthsBetween(cohort, lastMonth).map((month, i) => {
          const n = buyers.get(`${cohort}|${month}`) ?? 0;
          return { month, offset: i, buyers: n, share: ratio(n, size) };
        });
        cohorts.push({ cohort, members: size, months });
      }
      const now = deps.clock.now();
      const withPurchases = await repo.purchasers();
      const churned = await repo.lapsedSince(new Date(now.getTime() - 90 * DAY));
      return { period: periodOut(p), cohorts, churn: { buyers: withPurchases, churned, share: ratio(churned, withPurchases) } };
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
      const [opened, joined, firstPurchase] = await Promise.all([repo.referralOpens(p), repo.referredWithin(p, { bought: false }), repo.referredWithin(p, { bought: true })]);
      return { period: periodOut(p), opened, joined, firstPurchase };
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
