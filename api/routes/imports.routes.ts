import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Readable } from 'node:stream';
import type { Core } from '../../core/core.js';
import { csvStream } from '../../core/exports/export.format.js';
import type { InsightJobs } from '../../core/insight/insight.jobs.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';
import { idParams, importCreated, importQuery, importView } from '../schemas/insight.schema.js';

/** Bodies an import accepts; they reach the handler as the raw stream, never buffered whole. */
export const IMPORT_CONTENT_TYPES = ['text/csv', 'application/csv', 'text/plain', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/octet-stream'];

/** Admin: import a member base (CSV or XLSX), watch it, download its errors. */
export function importRoutes(deps: { core: Core; jobs?: InsightJobs | undefined; maxBytes: number }): FastifyPluginAsyncZod {
  const imports = deps.core.insight.imports;
  const base = { tags: ['admin'], security: ADMIN_SECURITY };
  return async (app) => {
    // Scoped to this plugin: the rest of the API keeps its JSON body limit.
    app.addContentTypeParser(IMPORT_CONTENT_TYPES, (_req, payload, done) => {
      done(null, payload);
    });

    app.post(
      '/imports',
      {
        schema: {
          ...base,
          summary: 'Import members from a CSV (",", ";"; UTF-8 ± BOM or Windows-1251) or XLSX body; answers at once, the import runs in the background',
          querystring: importQuery,
          response: { 202: importCreated, ...errorResponses('file_too_large', 'unsupported_media_type') },
        },
      },
      async (req, reply) => {
        const body = req.body as Readable | undefined;
        if (!body || typeof (body as { pipe?: unknown }).pipe !== 'function') {
          // The error handler answers it as 415 unsupported_media_type.
          throw Object.assign(new Error('send the file as text/csv or XLSX'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
        }
        const id = await imports.create({ body, contentType: req.headers['content-type'], dryRun: req.query.dryRun === 'true', maxBytes: deps.maxBytes });
        if (deps.jobs) await deps.jobs.enqueueImport(id);
        else {
          void imports.run(id).catch((err: unknown) => {
            req.log.error({ err, importId: id }, 'import failed');
          });
        }
        return reply.status(202).send({ id });
      },
    );

    app.get(
      '/imports/:id',
      { schema: { ...base, summary: 'An import: status, progress, counts and the first 1,000 errors', params: idParams, response: { 200: importView, ...errorResponses('import_not_found') } } },
      async (req) => imports.get(req.params.id),
    );

    app.get(
      '/imports/:id/errors.csv',
      {
        schema: {
          ...base,
          summary: 'Every error of an import as CSV (row, column, reason)',
          params: idParams,
          response: { 200: z.string().describe('CSV, UTF-8 with BOM, ";"'), ...errorResponses('import_not_found') },
        },
      },
      async (req, reply) => {
        await imports.get(req.params.id);
        const rows = (async function* () {
          for await (const e of imports.errors(req.params.id)) yield [e.row, e.column, e.reason];
        })();
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="import-${req.params.id}-errors.csv"`)
          .send(csvStream([{ key: 'row', label: 'row' }, { key: 'column', label: 'column' }, { key: 'reason', label: 'reason' }], rows) as never);
      },
    );
  };
}
