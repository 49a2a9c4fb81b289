import type { preHandlerAsyncHookHandler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { storeOf } from '../plugins/auth.plugin.js';
import type { AdminService } from '../../core/admin/admin.service.js';
import { ADMIN_SECURITY, errorResponses, TILL_SECURITY } from '../schemas/common.schema.js';
import { enrolBody, enrolResult, erasedResult, eraseBody } from '../schemas/member.schema.js';

const DESCRIPTION =
  'Creates the member and their card (with the welcome bonus) and answers 201. The store key (or the admin token) vouches ' +
  'for the phone: a member who had only typed this number in a chat loses it to the new member. A phone that already ' +
  'belongs to a member who proved it is not an error: nothing new is issued and the answer is 200 with that member\'s ' +
  'card and `created: false` (so a till can enrol without looking up first). With `cardNumber`, the phone is confirmed ' +
  'for the member of that card (200, `created: false`; their waiting bonuses are given); a phone another member proved ' +
  'is refused with member_exists.';

/**
 * Enrolment: at the counter (`who: 'till'`, the member is attributed to the store and gets
 * its card prefix) or by the programme owner (`who: 'admin'`).
 */
export function memberRoutes(deps: { admin: AdminService; who: 'till' | 'admin'; limit?: preHandlerAsyncHookHandler }): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/members',
      {
        // At the till an enrolment answers with the card of a phone already known: a look-up, counted as one.
        ...(deps.limit ? { preHandler: deps.limit } : {}),
        schema: {
          tags: [deps.who],
          summary: deps.who === 'till' ? 'Enrol a customer at the counter' : 'Enrol a member',
          description: DESCRIPTION,
          security: deps.who === 'till' ? TILL_SECURITY : ADMIN_SECURITY,
          body: enrolBody,
          response: {
            201: enrolResult.describe('A new member'),
            200: enrolResult.describe('The phone already belonged to this member; nothing was issued'),
            ...errorResponses('phone_invalid', 'consent_required', 'forbidden', 'member_exists', 'member_not_found', 'invalid_card_number', 'card_not_found', 'card_blocked', 'rate_limited'),
          },
        },
      },
      async (req, reply) => {
        const r = await deps.admin.enrol(req.body, deps.who, deps.who === 'till' ? storeOf(req).id : undefined);
        return reply.code(r.created ? 201 : 200).send(r);
      },
    );

    if (deps.who !== 'admin') return;
    app.post(
      '/members/erase',
      {
        schema: {
          tags: ['admin'],
          summary: '"Delete my data" for a member who asked the support desk: by phone or card number',
          description:
            'Erases exactly as the chat\'s "Delete my data" does (README, "Privacy and data"): the member\'s personal data, chat links and ' +
            'conversations, contest accounts, wallet registrations; the card stays blocked with its ledger.',
          security: ADMIN_SECURITY,
          body: eraseBody,
          response: { 200: erasedResult, ...errorResponses('phone_invalid', 'member_not_found', 'invalid_card_number', 'card_not_found') },
        },
      },
      async (req) => deps.admin.eraseMember(req.body),
    );
  };
}
