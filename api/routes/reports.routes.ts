import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../core/core.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';
import { periodQuery } from '../schemas/insight.schema.js';
import { activityReport, contestsReport, ltvReport, membersReport, pointsReport, referralsReport, retentionReport, summaryReport } from '../schemas/reports.schema.js';

const partnerFigures = {
  purchases: z.int(),
  refunds: z.int(),
  revenueKopecks: z.int().describe('Receipts net of refunds, kopecks'),
  accrued: z.int(),
  clawedBack: z.int(),
  redeemed: z.int(),
  returned: z.int(),
  issued: z.int().describe('accrued − clawedBack'),
  redeemedNet: z.int().describe('redeemed − returned'),
  balance: z.int().describe('redeemedNet − issued: positive, the others owe this partner that many points'),
  balanceKopecks: z.int(),
};
const partnerReport = z.object({
  period: z.object({ from: z.string(), to: z.string(), timeZone: z.string() }),
  pointValueKopecks: z.int(),
  items: z.array(z.object({ partnerId: z.string().nullable(), name: z.string().nullable(), ...partnerFigures })),
  total: z.object(partnerFigures),
});

/** Admin: reports for a period (`from`, `to`: shop days). Amounts in kopecks, points in points. */
export function reportRoutes(deps: { core: Core }): FastifyPluginAsyncZod {
  const r = deps.core.insight.reports;
  const base = { tags: ['admin'], security: ADMIN_SECURITY };
  return async (app) => {
    app.get('/reports/summary', { schema: { ...base, summary: 'Members, points, purchases of a period', querystring: periodQuery, response: { 200: summaryReport, ...errorResponses() } } }, async (req) => r.summary(req.query));
    const period = { ...base, querystring: periodQuery };
    const err = errorResponses();
    app.get('/reports/members', { schema: { ...period, summary: 'Members: total, new by day, by channel, with a Wallet pass, reachable per channel', response: { 200: membersReport, ...err } } }, async (req) => r.members(req.query));
    app.get('/reports/activity', { schema: { ...period, summary: 'Active in 30/90 days, purchases, revenue, average receipt, purchase frequency', response: { 200: activityReport, ...err } } }, async (req) => r.activity(req.query));
    app.get('/reports/points', { schema: { ...period, summary: 'Points issued, redeemed, expired, outstanding (and in kopecks), redemption rate', response: { 200: pointsReport, ...err } } }, async (req) => r.points(req.query));
    app.get('/reports/retention', { schema: { ...period, summary: 'Monthly join cohorts × months: share with a purchase; churn (no purchase in 90 days)', response: { 200: retentionReport, ...err } } }, async (req) => r.retention(req.query));
    app.get('/reports/referrals', { schema: { ...period, summary: 'Referral funnel: links opened → joined → first purchase', response: { 200: referralsReport, ...err } } }, async (req) => r.referrals(req.query));
    app.get('/reports/contests', { schema: { ...period, summary: 'Contests: entries and members they brought', response: { 200: contestsReport, ...err } } }, async (req) => r.contests(req.query));
    app.get(
      '/reports/partners',
      {
        schema: {
          ...base,
          summary: 'Points issued and accepted per partner in a period: what one partner owes another',
          description:
            'One row per partner (zeros when its stores had no receipts) and one for stores without a partner (partnerId null). ' +
            'issued = accrued − clawedBack, redeemedNet = redeemed − returned, balance = redeemedNet − issued (positive: the others owe the partner), ' +
            'balanceKopecks at the programme point value. Kept up to date from the ledger events (one fact per receipt or refund).',
          querystring: periodQuery,
          response: { 200: partnerReport, ...errorResponses() },
        },
      },
      async (req) => deps.core.insight.partnerReport(req.query),
    );
    app.get('/reports/ltv', { schema: { ...base, summary: 'Average spend per member by level and by join cohort (as of the last audience pass)', response: { 200: ltvReport, ...errorResponses() } } }, async () => r.ltv());
  };
}
