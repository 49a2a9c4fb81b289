import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_KEY_GRACE_MINUTES } from '../../../core/stores/store.repository.js';
import type { Actor } from '../../../core/users/staff.service.js';
import { STAFF_ROLES } from '../../../core/users/user.roles.js';
import { fieldError, formText, userOf, type FieldErrors } from '../panel.context.js';
import type { PanelContext } from '../panel.types.js';

type Form = Record<string, string | undefined>;

/** The owner's pages: users, stores and their API keys, the audit log. */
export function adminPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;
  const by = (req: FastifyRequest): Actor => {
    const u = userOf(req);
    return { actor: u.email, actorId: u.id, ip: req.ip };
  };

  async function usersPage(req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const [users, stores] = await Promise.all([core.users.list(), core.admin.listStores()]);
    return render(req, reply, 'users', { title: 'panel:nav.users', users, stores, roles: STAFF_ROLES, ...extra }, status);
  }

  async function storesPage(req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    return render(req, reply, 'stores', { title: 'panel:nav.stores', stores: await core.admin.listStores(), maxGrace: MAX_KEY_GRACE_MINUTES, ...extra }, status);
  }

  return async (app) => {
    app.get('/users', { preHandler: ctx.guard('users.manage') }, async (req, reply) => usersPage(req, reply));

    app.post<{ Body: Form }>('/users', { preHandler: ctx.guard('users.manage') }, async (req, reply) => {
      const values = { email: formText(req.body.email), role: formText(req.body.role), storeId: formText(req.body.storeId) };
      try {
        const u = await core.staff.create(by(req), { ...values, password: req.body.password ?? '', storeId: values.storeId || null });
        return await usersPage(req, reply, { notice: ctx.i18n.t(req.panel?.lang ?? 'ru', 'panel:users.created', { email: u.email }) });
      } catch (err) {
        return usersPage(req, reply, { errors: fieldError(err, 'email'), values }, 422);
      }
    });

    app.post<{ Params: { id: string }; Body: Form }>('/users/:id', { preHandler: ctx.guard('users.manage') }, async (req, reply) => {
      const b = req.body;
      try {
        await core.staff.change(by(req), req.params.id, {
          role: formText(b.role) || undefined,
          storeId: formText(b.storeId) || null,
          active: b.active === 'on' || b.active === 'true',
          ...(b.password ? { password: b.password } : {}),
        });
      } catch (err) {
        const errors: FieldErrors = fieldError(err, 'role');
        return usersPage(req, reply, { rowErrors: { [req.params.id]: Object.values(errors)[0] } }, 422);
      }
      return reply.redirect('/admin/users', 303);
    });

    app.get('/stores', { preHandler: ctx.guard('stores.manage') }, async (req, reply) => storesPage(req, reply));

    app.post<{ Body: Form }>('/stores', { preHandler: ctx.guard('stores.manage') }, async (req, reply) => {
      const values = { name: formText(req.body.name), cardPrefix: formText(req.body.cardPrefix).toUpperCase() };
      const errors: FieldErrors = {};
      if (!values.name || values.name.length > 120) errors.name = 'required';
      if (values.cardPrefix && !/^[A-Z0-9]{1,4}$/.test(values.cardPrefix)) errors.cardPrefix = 'card_prefix';
      if (Object.keys(errors).length > 0) return storesPage(req, reply, { errors, values }, 400);
      try {
        const s = await core.admin.createStore(values.name, values.cardPrefix || undefined);
        await ctx.audit(req, { action: 'store.create', target: s.id, after: { name: s.name, cardPrefix: values.cardPrefix || null } });
        // The key is shown this once: it is stored only hashed.
        return await storesPage(req, reply, { newKey: { storeId: s.id, name: s.name, key: s.key } });
      } catch (err) {
        return storesPage(req, reply, { errors: fieldError(err, 'cardPrefix'), values }, 422);
      }
    });

    app.post<{ Params: { id: string }; Body: Form }>('/stores/:id/rotate', { preHandler: ctx.guard('stores.manage') }, async (req, reply) => {
      const grace = formText(req.body.graceMinutes);
      if (!/^\d{0,6}$/.test(grace) || Number(grace) > MAX_KEY_GRACE_MINUTES) return storesPage(req, reply, { rowErrors: { [req.params.id]: 'grace_invalid' } }, 400);
      const r = await core.admin.rotateStoreKey(req.params.id, Number(grace || 0));
      await ctx.audit(req, { action: 'store.rotate_key', target: req.params.id, after: { previousValidUntil: r.previousValidUntil?.toISOString() ?? null } });
      return storesPage(req, reply, { newKey: { storeId: req.params.id, name: '', key: r.key, previousValidUntil: r.previousValidUntil } });
    });

    app.post<{ Params: { id: string } }>('/stores/:id/revoke', { preHandler: ctx.guard('stores.manage') }, async (req, reply) => {
      const r = await core.admin.revokeStoreKeys(req.params.id);
      await ctx.audit(req, { action: 'store.revoke_keys', target: req.params.id, after: { revoked: r.revoked } });
      return storesPage(req, reply, { notice: ctx.i18n.t(req.panel?.lang ?? 'ru', 'panel:stores.revoked', { count: r.revoked }) });
    });

    app.get<{ Querystring: { before?: string; action?: string } }>('/audit', { preHandler: ctx.guard('audit.view') }, async (req, reply) => {
      const action = formText(req.query.action).slice(0, 100);
      const page = await core.audit.page({ before: formText(req.query.before) || undefined, limit: 50, action: action || undefined });
      return render(req, reply, 'audit', { title: 'panel:nav.audit', page, action });
    });
  };
}
