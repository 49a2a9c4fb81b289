import type { FastifyPluginAsync } from 'fastify';
import { CONTENT_TYPES, EXPORT_FORMATS, type ExportFormat } from '../../../core/exports/export.format.js';
import { isReportExport } from '../../../core/exports/report.export.js';
import { addDays, shopDay, startOfShopDay } from '../../../core/insight/shop-time.js';
import { DomainError } from '../../../core/shared/errors.js';
import { formText } from '../panel.context.js';
import type { PanelContext } from '../panel.types.js';

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const KINDS = ['members', 'ledger', 'purchases'] as const;
const isFormat = (f: string): f is ExportFormat => (EXPORT_FORMATS as readonly string[]).includes(f);

/** Reports of a period as tables and charts, and the CSV/XLSX exports the admin API offers. */
export function reportPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;
  const reports = core.insight.reports;
  const exports = core.insight.exports(ctx.i18n);
  return async (app) => {
    app.get<{ Querystring: { from?: string; to?: string } }>('/reports', { preHandler: ctx.guard('reports.view') }, async (req, reply) => {
      const tz = core.insight.timeZone;
      const today = shopDay(core.clock.now(), tz);
      const values = { from: formText(req.query.from) || addDays(today, -29), to: formText(req.query.to) || today };
      const errors: Record<string, string> = {};
      if (!DAY_RE.test(values.from)) errors.from = 'date';
      if (!DAY_RE.test(values.to)) errors.to = 'date';
      if (Object.keys(errors).length === 0 && values.from > values.to) errors.to = 'period';
      const period = Object.keys(errors).length === 0 ? values : { from: addDays(today, -29), to: today };
      let data;
      try {
        const [summary, members, activity, points, referrals, ltv, retention] = await Promise.all([
          reports.summary(period),
          reports.members(period),
          reports.activity(period),
          reports.points(period),
          reports.referrals(period),
          reports.ltv(),
          reports.retention(period),
        ]);
        data = { summary, members, activity, points, referrals, ltv, retention };
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return render(req, reply, 'reports', { title: 'panel:nav.reports', values, errors: { ...errors, to: 'period' }, data: null }, 400);
      }
      const chart = {
        x: data.members.newByDay.map((d) => Math.floor(startOfShopDay(d.day, tz).getTime() / 1000)),
        series: [{ label: ctx.i18n.t(req.panel?.lang ?? 'ru', 'panel:reports.new_members'), values: data.members.newByDay.map((d) => d.count) }],
      };
      return render(req, reply, 'reports', { title: 'panel:nav.reports', values, errors, data, chart, period, kinds: KINDS, formats: EXPORT_FORMATS }, Object.keys(errors).length ? 400 : 200);
    });

    // Each table of the page as CSV or XLSX, for the period shown (the same export as GET /api/v1/admin/reports/{kind}/export).
    app.get<{ Params: { kind: string; format: string }; Querystring: { from?: string; to?: string } }>(
      '/reports/:kind.:format',
      { preHandler: ctx.guard('reports.view') },
      async (req, reply) => {
        const { kind, format } = req.params;
        if (!isReportExport(kind) || !isFormat(format)) throw new DomainError('not_found', 'no such export');
        const lang = req.panel?.lang ?? 'ru';
        const r = await exports.report({ kind, format, from: formText(req.query.from) || undefined, to: formText(req.query.to) || undefined, lang });
        await ctx.audit(req, { action: 'export', target: `reports/${kind}.${format}` });
        return reply.header('content-type', CONTENT_TYPES[format]).header('content-disposition', `attachment; filename="${r.fileName}"`).send(r.stream);
      },
    );

    app.get<{ Params: { kind: string; format: string }; Querystring: { from?: string; to?: string } }>(
      '/exports/:kind.:format',
      { preHandler: ctx.guard('reports.view') },
      async (req, reply) => {
        const { kind, format } = req.params;
        if (!(KINDS as readonly string[]).includes(kind) || !isFormat(format)) throw new DomainError('not_found', 'no such export');
        const f = format;
        const lang = req.panel?.lang ?? 'ru';
        const period = { from: formText(req.query.from) || undefined, to: formText(req.query.to) || undefined, format: f, lang };
        const r = kind === 'members' ? await exports.members({ format: f, lang }) : kind === 'ledger' ? exports.ledger(period) : exports.purchases(period);
        await ctx.audit(req, { action: 'export', target: `${kind}.${format}` });
        return reply.header('content-type', CONTENT_TYPES[f]).header('content-disposition', `attachment; filename="${r.fileName}"`).send(r.stream);
      },
    );
  };
}
