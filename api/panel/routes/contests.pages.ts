import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CONTEST_CHANNELS } from '../../../core/contests/contest.model.js';
import { MAX_PRIZES } from '../../../core/contests/contest.service.js';
import { fieldError, formText, type FieldErrors } from '../panel.context.js';
import type { PanelContext } from '../panel.types.js';

type Form = Record<string, string | string[] | undefined>;
const reasonKey = (reason: string) => `contests:bot.admin.invalid_reason.${reason}`;

/** Contests: create, live entry count, close, draw, the public record and how anyone verifies it. */
export function contestPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;

  async function list(req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const [contests, settings] = await Promise.all([core.contests.list({ limit: 50 }), core.settings.current()]);
    const levels = settings.levels.map((l) => ({ value: l.id, label: l.name[req.panel?.lang ?? 'ru'] }));
    return render(req, reply, 'contests', { title: 'panel:nav.contests', contests, channels: CONTEST_CHANNELS, levels, ...extra }, status);
  }

  async function detail(req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const [contest, record] = await Promise.all([core.contests.get(req.params.id), core.contests.publicRecord(req.params.id)]);
    return render(req, reply, 'contest', { title: 'panel:nav.contests', contest, record, recordJson: JSON.stringify(record, null, 2), ...extra }, status);
  }

  return async (app) => {
    app.get('/contests', { preHandler: ctx.guard('contests.view') }, async (req, reply) => list(req, reply));

    app.post<{ Body: Form }>('/contests', { preHandler: ctx.guard('contests.manage') }, async (req, reply) => {
      const b = req.body;
      const channels = ([] as string[]).concat(b.channels ?? []).filter((c) => c);
      const values = { title: formText(b.title), description: formText(b.description), prizes: formText(b.prizes), closesAt: formText(b.closesAt), minLevel: formText(b.minLevel), channels };
      const errors: FieldErrors = {};
      if (!/^\d{1,4}$/.test(values.prizes)) errors.prizes = { key: reasonKey('prizes_range'), opts: { max: MAX_PRIZES } };
      const closesAt = new Date(values.closesAt);
      if (!values.closesAt || Number.isNaN(closesAt.getTime())) errors.closesAt = { key: reasonKey('date') };
      if (Object.keys(errors).length > 0) return list(req, reply, { errors, values }, 400);
      try {
        const r = await core.contests.create({
          title: values.title,
          description: values.description,
          prizes: Number(values.prizes),
          channels: channels as (typeof CONTEST_CHANNELS)[number][],
          closesAt,
          minLevel: values.minLevel || null,
        });
        await ctx.audit(req, { action: 'contest.create', target: r.id, after: { title: values.title, prizes: Number(values.prizes), closesAt: closesAt.toISOString(), commitment: r.commitment } });
        return await reply.redirect(`/admin/contests/${r.id}`, 303);
      } catch (err) {
        return list(req, reply, { errors: fieldError(err, 'title', reasonKey), values }, 422);
      }
    });

    app.get<{ Params: { id: string } }>('/contests/:id', { preHandler: ctx.guard('contests.view') }, async (req, reply) => detail(req, reply));

    // Polled by htmx while the contest is open: the live entry count.
    app.get<{ Params: { id: string } }>('/contests/:id/count', { preHandler: ctx.guard('contests.view') }, async (req, reply) => {
      const c = await core.contests.get(req.params.id);
      return reply.type('text/html; charset=utf-8').send(String(c.entries));
    });

    app.post<{ Params: { id: string }; Body: Form }>('/contests/:id/close', { preHandler: ctx.guard('contests.manage') }, async (req, reply) => {
      const reason = formText(req.body.reason);
      try {
        const c = await core.contests.close(req.params.id, reason || undefined);
        await ctx.audit(req, { action: 'contest.close', target: req.params.id, after: { status: c.status, reason: reason || null } });
      } catch (err) {
        return detail(req, reply, { errors: fieldError(err, 'reason', (r) => `panel:errors.${r}`) }, 409);
      }
      return reply.redirect(`/admin/contests/${req.params.id}`, 303);
    });

    app.post<{ Params: { id: string } }>('/contests/:id/draw', { preHandler: ctx.guard('contests.manage') }, async (req, reply) => {
      try {
        const r = await core.contests.draw(req.params.id);
        await ctx.audit(req, { action: 'contest.draw', target: req.params.id, after: { winners: r.winners.length } });
      } catch (err) {
        return detail(req, reply, { errors: fieldError(err, 'draw') }, 409);
      }
      return reply.redirect(`/admin/contests/${req.params.id}`, 303);
    });
  };
}
