import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SEGMENT_FIELDS, SEGMENT_OPS } from '../../../core/segments/segment.rules.js';
import { DomainError } from '../../../core/shared/errors.js';
import { formText, isHtmx } from '../panel.context.js';
import type { PanelContext } from '../panel.types.js';

type Form = Record<string, string | string[] | undefined>;
const ROWS = 5;
const NUMBERISH = /^-?\d+(\.\d+)?$/;

/** One typed value: a number, true/false, or text as typed (the core says whether it fits the field). */
function scalar(v: string): number | boolean | string {
  if (NUMBERISH.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

/** The builder's rows as the rules the core compiles: { op: and|or, rules: [{ field, op, value }] }. */
function rulesFromForm(b: Form): { op: 'and' | 'or'; rules: { field: string; op: string; value: unknown }[] } {
  const rules = [];
  for (let i = 0; i < ROWS; i += 1) {
    const field = formText(b[`field_${i}`]);
    const op = formText(b[`op_${i}`]);
    const raw = formText(b[`value_${i}`]);
    if (!field || !raw) continue;
    const value = op === 'in' || op === 'nin' ? raw.split(',').map((x) => scalar(x.trim())).filter((x) => x !== '') : scalar(raw);
    rules.push({ field, op, value });
  }
  return { op: formText(b.combine) === 'or' ? 'or' : 'and', rules };
}

/** Segments: the rule builder with a live count, saved segments with their counts, the R × F grid. */
export function segmentPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;
  const segments = core.insight.segments;

  async function page(req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const [saved, snap] = await Promise.all([segments.list(), segments.snapshot()]);
    return render(req, reply, 'segments', { title: 'panel:nav.segments', saved, snap, fields: SEGMENT_FIELDS, ops: SEGMENT_OPS, rows: ROWS, ...extra }, status);
  }

  return async (app) => {
    app.get('/segments', { preHandler: ctx.guard('segments.view') }, async (req, reply) => page(req, reply));

    // The live count while the rules are edited (htmx posts the builder on every change).
    app.post<{ Body: Form }>('/segments/count', { preHandler: ctx.guard('segments.view') }, async (req, reply) => {
      const rules = rulesFromForm(req.body);
      if (rules.rules.length === 0) return render(req, reply, 'partials/segment-count', { count: null });
      try {
        return await render(req, reply, 'partials/segment-count', await segments.count(rules));
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        const problems = Array.isArray(err.details.problems) ? (err.details.problems as { message: string }[]).map((p) => p.message) : [err.message];
        return render(req, reply, 'partials/segment-count', { count: null, problems });
      }
    });

    app.get<{ Params: { id: string } }>('/segments/:id/count', { preHandler: ctx.guard('segments.view') }, async (req, reply) => {
      const r = await segments.countSegment(req.params.id);
      return reply.type('text/html; charset=utf-8').send(String(r.count));
    });

    app.post<{ Body: Form }>('/segments', { preHandler: ctx.guard('segments.manage') }, async (req, reply) => {
      const name = formText(req.body.name);
      const rules = rulesFromForm(req.body);
      const values = req.body;
      if (!name) return page(req, reply, { errors: { name: 'required' }, values }, 400);
      if (rules.rules.length === 0) return page(req, reply, { errors: { rules: 'rules_required' }, values }, 400);
      try {
        const s = await segments.create({ name, rules });
        await ctx.audit(req, { action: 'segment.create', target: s.id, after: { name, rules } });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return page(req, reply, { errors: { rules: 'invalid' }, problems: Array.isArray(err.details.problems) ? err.details.problems : [], values }, 422);
      }
      return reply.redirect('/admin/segments', 303);
    });

    app.post('/segments/rebuild', { preHandler: ctx.guard('segments.manage') }, async (req, reply) => {
      if (ctx.insightJobs) await ctx.insightJobs.enqueueAudience();
      else await segments.rebuild();
      await ctx.audit(req, { action: 'segment.rebuild' });
      if (isHtmx(req)) return reply.header('hx-redirect', '/admin/segments').send();
      return reply.redirect('/admin/segments', 303);
    });
  };
}
