import type { FastifyPluginAsync } from 'fastify';
import { addDays, shopDay, startOfShopDay } from '../../../core/insight/shop-time.js';
import type { PanelContext } from '../panel.types.js';

/** The dashboard: counters from the reports (daily stats), charts over 30 days, the latest broadcasts and contests. */
export function dashboardPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;
  const reports = core.insight.reports;
  return async (app) => {
    app.get('/', { preHandler: ctx.guard('dashboard.view') }, async (req, reply) => {
      const tz = core.insight.timeZone;
      const today = shopDay(core.clock.now(), tz);
      const from = addDays(today, -29);
      const [month, week, activity, contests, broadcasts] = await Promise.all([
        reports.summary({ from, to: today }),
        reports.summary({ from: addDays(today, -6), to: today }),
        reports.activity({ from, to: today }),
        core.contests.list({ limit: 5 }),
        core.broadcasts.list({ limit: 5, kind: 'campaign' }),
      ]);
      const days = await core.insight.daily.byDay(from, today);
      const x: number[] = [];
      const issued: number[] = [];
      const redeemed: number[] = [];
      const purchases: number[] = [];
      for (let d = from; d <= today; d = addDays(d, 1)) {
        const v = days.get(d);
        x.push(Math.floor(startOfShopDay(d, tz).getTime() / 1000));
        issued.push(v ? v.accrued + v.credited - v.clawedBack : 0);
        redeemed.push(v ? v.redeemed - v.returned : 0);
        purchases.push(v?.purchases ?? 0);
      }
      const t = (k: string) => ctx.i18n.t(req.panel?.lang ?? 'ru', k);
      const charts = {
        points: { x, series: [{ label: t('panel:dashboard.issued'), values: issued }, { label: t('panel:dashboard.redeemed'), values: redeemed }] },
        purchases: { x, series: [{ label: t('panel:dashboard.purchases'), values: purchases }] },
      };
      return render(req, reply, 'dashboard', { title: 'panel:nav.dashboard', month, week, activity, contests, broadcasts: broadcasts.items, chartData: charts });
    });
  };
}
