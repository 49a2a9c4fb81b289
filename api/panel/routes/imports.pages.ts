import type { FastifyPluginAsync } from 'fastify';
import { csvStream } from '../../../core/exports/export.format.js';
import { DomainError } from '../../../core/shared/errors.js';
import { sameSecret } from '../../../core/shared/secrets.js';
import { CSRF_FIELD } from '../panel.cookies.js';
import { isHtmx, panelOf } from '../panel.context.js';
import type { PanelContext } from '../panel.types.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** Import: upload a CSV/XLSX (a dry run first if wished), its progress, the error table. */
export function importPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;
  const imports = core.insight.imports;
  return async (app) => {
    app.get('/imports', { preHandler: ctx.guard('imports.run') }, async (req, reply) => render(req, reply, 'imports', { title: 'panel:nav.imports', maxMb: Math.floor(ctx.importMaxBytes / 1024 / 1024) }));

    app.post('/imports', { preHandler: ctx.guard('imports.run') }, async (req, reply) => {
      const session = panelOf(req).session;
      let csrfOk = false;
      let dryRun = false;
      // Streamed: the CSRF token (the form's first field) is checked before a byte of the file is read.
      for await (const part of req.parts()) {
        if (part.type === 'field') {
          if (part.fieldname === CSRF_FIELD) csrfOk = typeof part.value === 'string' && session !== null && sameSecret(part.value, session.csrf);
          if (part.fieldname === 'dryRun') dryRun = part.value === 'on' || part.value === 'true';
          continue;
        }
        if (!csrfOk) throw new DomainError('csrf_failed', 'missing or wrong CSRF token');
        if (!part.filename) {
          part.file.resume();
          continue;
        }
        const contentType = /\.xlsx$/i.test(part.filename) ? XLSX : 'text/csv';
        const id = await imports.create({ body: part.file, contentType, dryRun, maxBytes: ctx.importMaxBytes });
        if (ctx.insightJobs) await ctx.insightJobs.enqueueImport(id);
        else {
          void imports.run(id).catch((err: unknown) => {
            req.log.error({ err, importId: id }, 'import failed');
          });
        }
        await ctx.audit(req, { action: dryRun ? 'import.dry_run' : 'import.start', target: id, after: { file: part.filename } });
        return reply.redirect(`/admin/imports/${id}`, 303);
      }
      if (!csrfOk) throw new DomainError('csrf_failed', 'missing or wrong CSRF token');
      return render(req, reply, 'imports', { title: 'panel:nav.imports', maxMb: Math.floor(ctx.importMaxBytes / 1024 / 1024), errors: { file: 'file_required' } }, 400);
    });

    app.get<{ Params: { id: string } }>('/imports/:id', { preHandler: ctx.guard('imports.run') }, async (req, reply) => {
      const v = await imports.get(req.params.id);
      // While it runs, htmx asks again every second and swaps the progress block.
      return render(req, reply, isHtmx(req) ? 'partials/import-progress' : 'import', { title: 'panel:nav.imports', v });
    });

    app.get<{ Params: { id: string } }>('/imports/:id/errors.csv', { preHandler: ctx.guard('imports.run') }, async (req, reply) => {
      await imports.get(req.params.id);
      const rows = (async function* () {
        for await (const e of imports.errors(req.params.id)) yield [e.row, e.column, e.reason];
      })();
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${req.params.id}-errors.csv"`)
        .send(csvStream([{ key: 'row', label: 'row' }, { key: 'column', label: 'column' }, { key: 'reason', label: 'reason' }], rows));
    });
  };
}
