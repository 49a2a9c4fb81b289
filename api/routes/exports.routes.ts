import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Core } from '../../core/core.js';
import { CONTENT_TYPES, type ExportFormat } from '../../core/exports/export.format.js';
import type { ExportResult } from '../../core/exports/export.service.js';
import { REPORT_EXPORTS } from '../../core/exports/report.export.js';
import { createI18n } from '../../core/i18n/i18n.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';
import { exportMembersQuery, exportPeriodQuery } from '../schemas/insight.schema.js';

function send(reply: FastifyReply, format: ExportFormat, r: ExportResult): FastifyReply {
  return reply.header('content-type', CONTENT_TYPES[format]).header('content-disposition', `attachment; filename="${r.fileName}"`).send(r.stream);
}

const reportParams = z.strictObject({ kind: z.enum(REPORT_EXPORTS).describe('Which table of the Reports page') });

/** Admin: members, ledger entries and purchases as CSV or XLSX, streamed as they are read; each table of the reports. */
export function exportRoutes(deps: { core: Core }): FastifyPluginAsyncZod {
  const base = { tags: ['admin'], security: ADMIN_SECURITY };
  const file = z.string().describe('CSV (UTF-8 with BOM, ";") or XLSX');
  return async (app) => {
    const exports = deps.core.insight.exports(await createI18n());
    app.get(
      '/members/export',
      { schema: { ...base, summary: 'Members (with segment and RFM columns), all or one segment', querystring: exportMembersQuery, response: { 200: file, ...errorResponses('segment_not_found') } } },
      async (req, reply) => send(reply, req.query.format, await exports.members(req.query)),
    );
    app.get(
      '/ledger/export',
      { schema: { ...base, summary: 'Ledger entries of a period (for accounting)', querystring: exportPeriodQuery, response: { 200: file, ...errorResponses() } } },
      async (req, reply) => send(reply, req.query.format, exports.ledger(req.query)),
    );
    app.get(
      '/reports/partners/export',
      { schema: { ...base, summary: 'Points issued and accepted per partner in a period (what one partner owes another)', querystring: exportPeriodQuery, response: { 200: file, ...errorResponses() } } },
      async (req, reply) => send(reply, req.query.format, exports.partners(req.query)),
    );
    app.get(
      '/reports/:kind/export',
      {
        schema: {
          ...base,
          summary: 'One table of the Reports page for a period',
          description:
            'summary, members, activity, points, referrals, churn: a figure/value list; new-members: every day of the period; ' +
            'retention: a row per join month × month; ltv-levels, ltv-cohorts: average spend per member (as of the last audience pass, the period is not used). ' +
            'Amounts in roubles, shares in percent.',
          params: reportParams,
          querystring: exportPeriodQuery,
          response: { 200: file, ...errorResponses() },
        },
      },
      async (req, reply) => send(reply, req.query.format, await exports.report({ ...req.query, kind: req.params.kind })),
    );
    app.get(
      '/purchases/export',
      { schema: { ...base, summary: 'Purchases of a period', querystring: exportPeriodQuery, response: { 200: file, ...errorResponses() } } },
      async (req, reply) => send(reply, req.query.format, exports.purchases(req.query)),
    );
  };
}
