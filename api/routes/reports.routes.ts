import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../core/core.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';
import { periodQuery } from '../schemas/insight.schema.js';

const summary = z.object({
  period: z.object({ from: z.string(), to: z.string(), timeZone: z.string() }),
  members: z.object({ total: z.int(), new: z.int() }),
  points: z.object({ issued: z.int(), redeemed: z.int(), expired: z.int(), outstanding: z.int() }),
  purchases: z.object({ count: z.int(), revenue: z.int().describe('kopecks, net of refunds'), refunds: z.int(), averageReceipt: z.int() }),
});

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
  const any = z.record(z.string(), z.unknown());
  return async (app) => {
    app.get('/reports/summary', { schema: { ...base, summary: 'Members, points, purchases of a period', querystring: periodQuery, response: { 200: summary, ...errorResponses() } } }, async (req) => r.summary(req.query));
    const reports = {
      members: 'Members: total, new by day, by channel, with a Wallet pass, reachable per channel',
      activity: 'Active in 30/90 days, purchases, revenue, average receipt, purchase frequency',
      points: 'Points issued, redeemed, expired, outstanding (and in kopecks), redemption rate',
      retention: 'Monthly join cohorts × months: share with a purchase; churn (no purchase in 90 days)',
      referrals: 'Referral funnel: links opened → joined → first purchase',
      contests: 'Contests: entries and members they brought',
    } as const;
    for (const [name, text] of Object.entries(reports) as [keyof typeof reports, string][]) {
      app.get(`/reports/${name}`, { schema: { ...base, summary: text, querystring: periodQuery, response: { 200: any, ...errorResponses() } } }, async (req) => r[name](req.query));
    }
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
    app.get('/reports/ltv', { schema: { ...base, summary: 'Average spend per member by level and by join cohort (as of the last audience pass)', response: { 200: any, ...errorResponses() } } }, async () => r.ltv());
  };
}
