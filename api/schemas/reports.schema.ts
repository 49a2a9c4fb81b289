import { z } from 'zod';

/** The reports' answers, as `core/reports/reports.service.ts` builds them (README "Reports"). */
const period = z.object({ from: z.string(), to: z.string(), timeZone: z.string() });
const countedAt = z.string().describe('When the member counts were taken (live on a small base; at most about 5 minutes old on a large one)');
const share = z.object({ count: z.int(), share: z.number().describe('0–1') });
const counts = z.record(z.string(), z.int());
const ltvRow = z.object({ key: z.string(), members: z.int(), spentKopecks: z.int(), averageKopecks: z.int() });

export const summaryReport = z.object({
  period,
  countedAt,
  members: z.object({ total: z.int(), new: z.int() }),
  points: z.object({ issued: z.int(), redeemed: z.int(), expired: z.int(), outstanding: z.int() }),
  purchases: z.object({ count: z.int(), revenue: z.int().describe('kopecks, net of refunds'), refunds: z.int(), averageReceipt: z.int() }),
});

export const membersReport = z.object({
  period,
  countedAt,
  total: z.int(),
  new: z.int(),
  newByDay: z.array(z.object({ day: z.string(), count: z.int() })),
  asOf: z.string().nullable().describe('The audience pass the channel, pass and reach figures come from'),
  byJoinChannel: counts,
  usingChannel: counts,
  withPass: z.int(),
  reachable: counts,
});

export const activityReport = z.object({
  period,
  countedAt,
  members: z.int(),
  active30: share,
  active90: share,
  purchases: z.int(),
  revenue: z.int(),
  averageReceipt: z.int(),
  buyerMonths: z.int(),
  purchasesPerBuyerMonth: z.number(),
});

export const pointsReport = z.object({
  period,
  issued: z.int(),
  redeemed: z.int(),
  expired: z.int(),
  adjustedOut: z.int(),
  imported: z.int(),
  outstanding: z.int(),
  outstandingKopecks: z.int(),
  redemptionRate: z.number(),
});

export const retentionReport = z.object({
  period,
  countedAt,
  cohorts: z.array(z.object({ cohort: z.string(), members: z.int(), months: z.array(z.object({ month: z.string(), offset: z.int(), buyers: z.int(), share: z.number() })) })),
  churn: z.object({ buyers: z.int(), churned: z.int(), share: z.number() }),
});

export const referralsReport = z.object({ period, countedAt, opened: z.int(), joined: z.int(), firstPurchase: z.int() });

export const contestsReport = z.object({
  period,
  contests: z.array(z.object({ id: z.string(), title: z.string(), opensAt: z.string(), closesAt: z.string(), entries: z.int(), newMembers: z.int() })),
});

export const ltvReport = z.object({ asOf: z.string().nullable(), byLevel: z.array(ltvRow), byCohort: z.array(ltvRow) });
