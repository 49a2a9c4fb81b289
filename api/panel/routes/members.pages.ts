import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../core/shared/errors.js';
import { fieldError, isHtmx, userOf, type FieldErrors } from '../panel.context.js';
import type { PanelContext } from '../panel.types.js';

type Form = Record<string, string | undefined>;
const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');


/** Members: search, a member's page, adjust with a reason, block/unblock, staff level, Wallet link, erase. */
export function memberPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;
  const author = (req: FastifyRequest) => `panel:${userOf(req).email}`;

  async function memberPage(req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const cursor = (req.query as { cursor?: string }).cursor;
    const page = await core.directory.page(req.params.id, cursor && core.history.isCursor(cursor) ? cursor : null);
    const settings = await core.settings.current();
    const levels = [...settings.manualLevels, ...settings.levels].map((l) => ({ value: l.id, label: l.name[req.panel?.lang ?? 'ru'] }));
    const walletLink = extra.showLink && ctx.wallet && page.card ? ctx.wallet.linkFor(page.card.number) : null;
    return render(req, reply, 'member', { title: 'panel:member.title', page, levels, adjustKey: randomUUID(), walletLink, hasWallet: Boolean(ctx.wallet), ...extra }, status);
  }

  async function cardNumberOf(memberId: string): Promise<string> {
    const m = await core.members.byId(memberId);
    if (!m?.cardNumber || m.status === 'erased') throw new DomainError('member_not_found', 'no such member');
    return m.cardNumber;
  }

  return async (app) => {
    app.get<{ Querystring: { q?: string; after?: string; segment?: string } }>('/members', { preHandler: ctx.guard('members.view') }, async (req, reply) => {
      const q = str(req.query.q);
      const segments = await core.insight.segments.list();
      const segment = q ? undefined : segments.find((s) => s.id === str(req.query.segment));
      const after = str(req.query.after) || undefined;
      // A saved segment's members (as of the last audience pass), or the search / the newest.
      const inSegment = segment ? { segment, page: await core.insight.segments.members(segment.id, { after, limit: 25 }) } : null;
      const result = inSegment ? null : await core.directory.search(q, { after });
      // Live search swaps only the results table.
      const partial = isHtmx(req) && req.headers['hx-target'] === 'results';
      const template = partial ? (inSegment ? 'partials/segment-member-rows' : 'partials/member-rows') : 'members';
      return render(req, reply, template, { title: 'panel:members.title', q, result, inSegment, segments, notice: (req.query as { notice?: string }).notice ? 'erased' : null });
    });

    app.get<{ Params: { id: string }; Querystring: { cursor?: string; notice?: string } }>('/members/:id', { preHandler: ctx.guard('members.view') }, async (req, reply) => {
      if (isHtmx(req) && req.query.cursor) {
        const page = await core.directory.page(req.params.id, core.history.isCursor(req.query.cursor) ? req.query.cursor : null);
        return render(req, reply, 'partials/history-rows', { page });
      }
      return memberPage(req, reply, { notice: req.query.notice ?? null });
    });

    app.post<{ Params: { id: string }; Body: Form }>('/members/:id/adjust', { preHandler: ctx.guard('members.adjust') }, async (req, reply) => {
      const body = req.body;
      const values = { points: str(body.points), direction: str(body.direction), reason: str(body.reason) };
      const errors: FieldErrors = {};
      const n = Number(values.points);
      if (!/^\d{1,9}$/.test(values.points) || n === 0) errors.points = 'points_invalid';
      if (!values.reason) errors.reason = 'reason_required';
      else if (values.reason.length > 200) errors.reason = 'reason_too_long';
      if (values.direction !== 'add' && values.direction !== 'take') errors.direction = 'points_invalid';
      if (Object.keys(errors).length > 0) return memberPage(req, reply, { errors, values }, 400);
      const card = await cardNumberOf(req.params.id);
      const points = values.direction === 'take' ? -n : n;
      try {
        const before = await core.cards.byNumber(card);
        // The form's hidden key: a double click or a resent form never moves points twice.
        const key = str(body.key) || randomUUID();
        const r = await core.ledger.adjust({ key: `panel:${key}`, card, points, reason: values.reason, author: author(req) });
        if (!r.replayed) await ctx.audit(req, { action: 'member.adjust', target: card, before: { balance: before?.balance ?? null }, after: { balance: r.balanceAfter, points, reason: values.reason } });
      } catch (err) {
        return memberPage(req, reply, { errors: fieldError(err, 'points'), values }, 422);
      }
      return reply.redirect(`/admin/members/${req.params.id}?notice=adjusted`, 303);
    });

    for (const [action, status] of [['block', 'blocked'], ['unblock', 'active']] as const) {
      app.post<{ Params: { id: string } }>(`/members/:id/${action}`, { preHandler: ctx.guard('members.manage') }, async (req, reply) => {
        const card = await cardNumberOf(req.params.id);
        const before = await core.cards.byNumber(card);
        await core.cards.setStatus(card, status);
        await ctx.audit(req, { action: `member.${action}`, target: card, before: { status: before?.status ?? null }, after: { status } });
        return reply.redirect(`/admin/members/${req.params.id}?notice=${action}ed`, 303);
      });
    }

    app.post<{ Params: { id: string }; Body: Form }>('/members/:id/level', { preHandler: ctx.guard('members.manage') }, async (req, reply) => {
      const card = await cardNumberOf(req.params.id);
      const levelId = str(req.body.levelId) || null;
      const before = await core.cards.byNumber(card);
      try {
        await core.ledger.setLevel({ card, levelId, author: author(req) });
      } catch (err) {
        return memberPage(req, reply, { errors: fieldError(err, 'levelId') }, 422);
      }
      await ctx.audit(req, { action: 'member.level', target: card, before: { manualLevelId: before?.manualLevelId ?? null }, after: { manualLevelId: levelId } });
      return reply.redirect(`/admin/members/${req.params.id}?notice=level`, 303);
    });

    app.post<{ Params: { id: string } }>('/members/:id/wallet-link', { preHandler: ctx.guard('members.manage') }, async (req, reply) => {
      if (!ctx.wallet) throw new DomainError('not_found', 'Apple Wallet is not configured');
      await ctx.audit(req, { action: 'member.wallet_link', target: await cardNumberOf(req.params.id) });
      return memberPage(req, reply, { showLink: true });
    });

    app.post<{ Params: { id: string }; Body: Form }>('/members/:id/erase', { preHandler: ctx.guard('members.erase') }, async (req, reply) => {
      const card = await cardNumberOf(req.params.id);
      // Erasure cannot be undone: the form asks for the card number typed again.
      if (str(req.body.confirm).replace(/\s/g, '') !== card) return memberPage(req, reply, { errors: { confirm: 'confirm_mismatch' } }, 400);
      const r = await core.admin.eraseMember({ cardNumber: card });
      await ctx.audit(req, { action: 'member.erase', target: card, after: { memberId: r.memberId } });
      return reply.redirect('/admin/members?notice=erased', 303);
    });
  };
}
