import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { BROADCAST_CHANNELS, TEXT_MAX, type Audience, type BroadcastChannel, type BroadcastInput } from '../../../core/broadcasts/broadcast.types.js';
import { startOfShopDay } from '../../../core/insight/shop-time.js';
import { DomainError } from '../../../core/shared/errors.js';
import { formText, isHtmx, type FieldErrors } from '../panel.context.js';
import type { PanelContext } from '../panel.types.js';

type Form = Record<string, string | string[] | undefined>;
const AUDIENCES = ['all', 'level', 'segment', 'cards', 'phones'] as const;
const LOCAL_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})$/;

/** A datetime-local value read in the shop's time zone (not the server's). */
function shopLocalTime(v: string, tz: string): Date | null {
  const m = LOCAL_TIME.exec(v);
  if (!m?.[1]) return null;
  const t = startOfShopDay(m[1], tz).getTime() + Number(m[2]) * 3_600_000 + Number(m[3]) * 60_000;
  return Number.isNaN(t) ? null : new Date(t);
}

const list = (v: string): string[] => v.split(/[\s,;]+/).map((x) => x.trim()).filter((x) => x);

/** The composer's fields as a BroadcastInput, or the errors of the fields that are wrong (the core checks the rest). */
function inputFromForm(b: Form, tz: string): { input: BroadcastInput | null; errors: FieldErrors; values: Record<string, unknown> } {
  const channels = ([] as string[]).concat(b.channels ?? []).filter((c): c is BroadcastChannel => (BROADCAST_CHANNELS as readonly string[]).includes(c));
  const values = {
    text: formText(b.text),
    buttonText: formText(b.buttonText),
    buttonUrl: formText(b.buttonUrl),
    channels,
    audience: formText(b.audience) || 'all',
    levelId: formText(b.levelId),
    segmentId: formText(b.segmentId),
    cards: formText(b.cards),
    phones: formText(b.phones),
    scheduledAt: formText(b.scheduledAt),
    holdoutPercent: formText(b.holdoutPercent) || '0',
    ignoreQuietHours: formText(b.ignoreQuietHours) === 'on',
  };
  const errors: FieldErrors = {};
  if (values.text.length < 1 || values.text.length > TEXT_MAX) errors.text = { key: 'panel:broadcasts.errors.text', opts: { max: TEXT_MAX } };
  if (channels.length === 0) errors.channels = { key: 'panel:broadcasts.errors.channels' };
  if ((values.buttonText === '') !== (values.buttonUrl === '')) errors.buttonUrl = { key: 'panel:broadcasts.errors.button' };
  let audience: Audience | null = null;
  switch (values.audience) {
    case 'all':
      audience = { kind: 'all' };
      break;
    case 'level':
      audience = { kind: 'level', levelId: values.levelId };
      break;
    case 'segment':
      if (values.segmentId) audience = { kind: 'segment', segmentId: values.segmentId };
      break;
    case 'cards':
      if (list(values.cards).length > 0) audience = { kind: 'cards', numbers: list(values.cards) };
      break;
    case 'phones':
      if (list(values.phones).length > 0) audience = { kind: 'phones', phones: list(values.phones) };
      break;
  }
  if (!audience) errors.audience = { key: 'panel:broadcasts.errors.audience' };
  const holdout = Number(values.holdoutPercent);
  if (!/^\d{1,2}$/.test(values.holdoutPercent) || holdout > 50) errors.holdoutPercent = { key: 'panel:broadcasts.errors.holdout' };
  let scheduledAt: Date | undefined;
  if (values.scheduledAt) {
    const d = shopLocalTime(values.scheduledAt, tz);
    if (!d) errors.scheduledAt = { key: 'panel:broadcasts.errors.schedule' };
    else scheduledAt = d;
  }
  if (Object.keys(errors).length > 0 || !audience) return { input: null, errors, values };
  return {
    input: {
      text: values.text,
      audience,
      channels,
      button: values.buttonText ? { text: values.buttonText, url: values.buttonUrl } : undefined,
      scheduledAt,
      holdoutPercent: holdout,
      ignoreQuietHours: values.ignoreQuietHours,
    },
    errors,
    values,
  };
}

/** A domain error of the core as the composer field it belongs to. */
function coreFieldErrors(err: unknown): FieldErrors {
  if (!(err instanceof DomainError)) throw err;
  if (err.code === 'segment_not_found') return { audience: err.code };
  const problems = Array.isArray(err.details.problems) ? (err.details.problems as { path: string; message: string }[]) : [];
  const errors: FieldErrors = {};
  for (const p of problems) {
    const field = p.path.startsWith('audience') ? 'audience' : p.path === 'button.text' || p.path === 'button.url' ? 'buttonUrl' : p.path;
    errors[field] = { key: 'panel:broadcasts.errors.core', opts: { message: p.message } };
  }
  return Object.keys(errors).length > 0 ? errors : { text: err.code };
}

/** Broadcasts: the list with live progress, the composer with live counts and previews, one broadcast with its results. */
export function broadcastPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;
  const broadcasts = core.broadcasts;
  const tz = () => core.insight.timeZone;

  async function listing() {
    const { items } = await broadcasts.list({ limit: 50, kind: 'campaign' });
    return { items, live: items.some((b) => b.status === 'sending' || b.status === 'scheduled') };
  }

  async function composer(req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const [settings, segments] = await Promise.all([core.settings.current(), core.insight.segments.list()]);
    const lang = req.panel?.lang ?? 'ru';
    const levels = [...settings.levels, ...settings.manualLevels].map((l) => ({ value: l.id, label: l.name[lang] }));
    return render(
      req,
      reply,
      'broadcast-new',
      { title: 'panel:broadcasts.new', levels, segments: segments.map((s) => ({ value: s.id, label: s.name })), channels: BROADCAST_CHANNELS, audiences: AUDIENCES, timeZone: tz(), values: { channels: [...BROADCAST_CHANNELS], audience: 'all', holdoutPercent: '0' }, ...extra },
      status,
    );
  }

  async function detail(req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const b = await broadcasts.get(req.params.id);
    const report = b.status === 'done' && b.kind === 'campaign' ? await core.insight.reports.broadcast(await broadcasts.reportInput(b.id)) : null;
    const template = isHtmx(req) && !extra.full ? 'partials/broadcast-progress' : 'broadcast';
    return render(req, reply, template, { title: 'panel:nav.broadcasts', b, report, channels: BROADCAST_CHANNELS, ...extra }, status);
  }

  return async (app) => {
    app.get('/broadcasts', { preHandler: ctx.guard('broadcasts.view') }, async (req, reply) => render(req, reply, 'broadcasts', { title: 'panel:nav.broadcasts', ...(await listing()), channels: BROADCAST_CHANNELS }));

    // The list's live rows: htmx polls this every 2 s while a broadcast is scheduled or sending.
    app.get('/broadcasts/rows', { preHandler: ctx.guard('broadcasts.view') }, async (req, reply) => render(req, reply, 'partials/broadcast-rows', { ...(await listing()), channels: BROADCAST_CHANNELS }));

    app.get('/broadcasts/new', { preHandler: ctx.guard('broadcasts.send') }, async (req, reply) => composer(req, reply));

    // Live recipients per channel and the message as each channel shows it; changes nothing.
    app.post<{ Body: Form }>('/broadcasts/preview', { preHandler: ctx.guard('broadcasts.send') }, async (req, reply) => {
      const { input, errors } = inputFromForm(req.body, tz());
      if (!input) return render(req, reply, 'partials/broadcast-preview', { preview: null, errors });
      try {
        return await render(req, reply, 'partials/broadcast-preview', { preview: await broadcasts.preview(input, req.panel?.lang ?? 'ru'), button: input.button ?? null, channels: input.channels });
      } catch (err) {
        return render(req, reply, 'partials/broadcast-preview', { preview: null, errors: coreFieldErrors(err) });
      }
    });

    app.post<{ Body: Form }>('/broadcasts', { preHandler: ctx.guard('broadcasts.send') }, async (req, reply) => {
      const { input, errors, values } = inputFromForm(req.body, tz());
      if (!input) return composer(req, reply, { errors, values }, 400);
      let id: string;
      try {
        id = (await broadcasts.create(input)).id;
      } catch (err) {
        return composer(req, reply, { errors: coreFieldErrors(err), values }, 422);
      }
      await ctx.audit(req, { action: 'broadcast.create', target: id, after: { audience: input.audience, channels: input.channels, scheduledAt: input.scheduledAt ? new Date(input.scheduledAt).toISOString() : null, holdoutPercent: input.holdoutPercent } });
      if (formText(req.body.test) === '1') {
        // "Send a test": the admins' own chats get it at once; the campaign itself waits, paused, for "resume".
        await broadcasts.pause(id);
        await broadcasts.test(id);
        await ctx.audit(req, { action: 'broadcast.test', target: id });
      }
      return reply.redirect(`/admin/broadcasts/${id}`, 303);
    });

    app.get<{ Params: { id: string } }>('/broadcasts/:id', { preHandler: ctx.guard('broadcasts.view') }, async (req, reply) => detail(req, reply));

    for (const action of ['pause', 'resume', 'cancel', 'test'] as const) {
      app.post<{ Params: { id: string } }>(`/broadcasts/:id/${action}`, { preHandler: ctx.guard('broadcasts.send') }, async (req, reply) => {
        try {
          const r = await broadcasts[action](req.params.id);
          await ctx.audit(req, { action: `broadcast.${action}`, target: req.params.id, after: { status: r.status } });
        } catch (err) {
          if (!(err instanceof DomainError) || err.code !== 'broadcast_state') throw err;
          return detail(req, reply, { full: true, errors: { form: err.code } }, 409);
        }
        if (isHtmx(req)) return reply.header('hx-redirect', `/admin/broadcasts/${req.params.id}`).send();
        return reply.redirect(`/admin/broadcasts/${req.params.id}`, 303);
      });
    }
  };
}
