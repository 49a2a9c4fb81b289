import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../core/core.js';
import type { AdminActor } from '../plugins/auth.plugin.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';
import { auditPage, auditQuery, changeUserBody, createUserBody, userIdParams, userView } from '../schemas/users.schema.js';

/** The audit log's "who" for an admin request. */
export function actorOf(actor: AdminActor | null): { actor: string; actorId: string | null } {
  return actor?.kind === 'user' ? { actor: actor.user.email, actorId: actor.user.id } : { actor: 'admin-token', actorId: null };
}

const who = (req: FastifyRequest) => ({ ...actorOf(req.adminActor), ip: req.ip });

/** Admin: staff users of the web panel, and the audit log. Register inside the admin scope. */
export function userRoutes(deps: { core: Core }): FastifyPluginAsyncZod {
  const { users, sessions, audit } = deps.core;
  return async (app) => {
    app.post(
      '/users',
      {
        schema: {
          tags: ['admin'],
          summary: 'Create a panel user (the first owner, then anyone)',
          description: 'With the admin token, or with an owner\'s panel session (and its CSRF token in X-CSRF-Token).',
          security: ADMIN_SECURITY,
          body: createUserBody,
          response: { 201: userView, ...errorResponses('invalid_email', 'weak_password', 'user_exists', 'store_required', 'store_not_found', 'forbidden', 'csrf_failed') },
        },
      },
      async (req, reply) => {
        const user = await users.create(req.body);
        await audit.record({ ...who(req), action: 'user.create', target: user.email, after: { role: user.role, storeId: user.storeId } });
        return reply.code(201).send(user);
      },
    );

    app.get(
      '/users',
      { schema: { tags: ['admin'], summary: 'Panel users', security: ADMIN_SECURITY, response: { 200: z.object({ items: z.array(userView) }), ...errorResponses('forbidden') } } },
      async () => ({ items: await users.list() }),
    );

    app.patch(
      '/users/:id',
      {
        schema: {
          tags: ['admin'],
          summary: "Change a user's role, store, active flag or password",
          security: ADMIN_SECURITY,
          params: userIdParams,
          body: changeUserBody,
          response: { 200: userView, ...errorResponses('user_not_found', 'weak_password', 'store_required', 'store_not_found', 'last_owner', 'forbidden', 'csrf_failed') },
        },
      },
      async (req) => {
        const { password, ...patch } = req.body;
        const { before, after } = await users.change(req.params.id, patch);
        if (password !== undefined) await users.setPassword(req.params.id, password);
        // A demoted, disabled or re-keyed user starts over with what they may do now.
        if (password !== undefined || before.role !== after.role || !after.active || before.storeId !== after.storeId) await sessions.endAllFor(after.id);
        await audit.record({
          ...who(req),
          action: 'user.change',
          target: after.email,
          before: { role: before.role, storeId: before.storeId, active: before.active },
          after: { role: after.role, storeId: after.storeId, active: after.active, ...(password !== undefined ? { password: 'changed' } : {}) },
        });
        return after;
      },
    );

    app.get(
      '/audit',
      { schema: { tags: ['admin'], summary: 'The audit log, newest first, a page at a time', security: ADMIN_SECURITY, querystring: auditQuery, response: { 200: auditPage, ...errorResponses('forbidden') } } },
      async (req) => audit.page({ before: req.query.before, limit: req.query.limit ?? 50, action: req.query.action }),
    );
  };
}
