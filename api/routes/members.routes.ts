import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { storeOf } from '../plugins/auth.plugin.js';
import type { AdminService } from '../../core/admin/admin.service.js';
import { ADMIN_SECURITY, errorResponses, TILL_SECURITY } from '../schemas/common.schema.js';
import { enrolBody, enrolResult } from '../schemas/member.schema.js';

const DESCRIPTION =
  'Creates the member and their card (with the welcome bonus) and answers 201. A phone that already belongs to a member ' +
  'is not an error: nothing new is issued and the answer is 200 with that member\'s card and `created: false` ' +
  '(so a till can enrol without looking up first).';

/**
 * Enrolment: at the counter (`who: 'till'`, the member is attributed to the store and gets
 * its card prefix) or by the programme owner (`who: 'admin'`).
 */
export function memberRoutes(deps: { admin: AdminService; who: 'till' | 'admin' }): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/members',
      {
        schema: {
          tags: [deps.who],
          summary: deps.who === 'till' ? 'Enrol a customer at the counter' : 'Enrol a member',
          description: DESCRIPTION,
          security: deps.who === 'till' ? TILL_SECURITY : ADMIN_SECURITY,
          body: enrolBody,
          response: {
            201: enrolResult.describe('A new member'),
            200: enrolResult.describe('The phone already belonged to this member; nothing was issued'),
            ...errorResponses('phone_invalid', 'consent_required', 'forbidden'),
          },
        },
      },
      async (req, reply) => {
        const r = await deps.admin.enrol(req.body, deps.who, deps.who === 'till' ? storeOf(req).id : undefined);
        return reply.code(r.created ? 201 : 200).send(r);
      },
    );
  };
}
