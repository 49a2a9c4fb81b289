import type { preHandlerAsyncHookHandler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Core } from '../../core/core.js';
import { DomainError } from '../../core/shared/errors.js';
import { langOf, presentCard } from '../presenters/card.presenter.js';
import { cardByPhoneQuery, cardView, historyPage, historyQuery } from '../schemas/card.schema.js';
import { cardNumberParams, errorResponses, TILL_SECURITY } from '../schemas/common.schema.js';

/**
 * Till look-ups: a card by number or by phone, and its history. `lookupLimit` (built in
 * app.ts) counts all three against one budget per store key.
 */
export function cardRoutes(deps: { core: Core; lookupLimit: preHandlerAsyncHookHandler }): FastifyPluginAsyncZod {
  const { core } = deps;
  return async (app) => {
    const preHandler = deps.lookupLimit;
    const lookupErrors = errorResponses('invalid_card_number', 'card_not_found', 'card_blocked', 'card_replaced', 'rate_limited');

    app.get(
      '/cards/:number',
      {
        preHandler,
        schema: {
          tags: ['till'],
          summary: 'Look a card up by number',
          security: TILL_SECURITY,
          params: cardNumberParams,
          response: { 200: cardView, ...lookupErrors },
        },
      },
      async (req) => presentCard(core, await core.cards.resolve(req.params.number), langOf(req)),
    );

    app.get(
      '/cards',
      {
        preHandler,
        schema: {
          tags: ['till'],
          summary: "Look a card up by the member's phone",
          security: TILL_SECURITY,
          querystring: cardByPhoneQuery,
          response: { 200: cardView, ...errorResponses('phone_invalid', 'card_not_found', 'card_blocked', 'card_replaced', 'rate_limited') },
        },
      },
      async (req) => {
        const member = await core.members.findByPhone(req.query.phone);
        if (!member?.cardNumber) throw new DomainError('card_not_found', 'no member with this phone');
        return presentCard(core, await core.cards.resolve(member.cardNumber), langOf(req));
      },
    );

    app.get(
      '/cards/:number/history',
      {
        preHandler,
        schema: {
          tags: ['till'],
          summary: 'Point movements of a card, newest first, paged by cursor',
          security: TILL_SECURITY,
          params: cardNumberParams,
          querystring: historyQuery,
          response: { 200: historyPage, ...lookupErrors },
        },
      },
      async (req) => {
        const card = await core.cards.resolve(req.params.number);
        const { items, nextCursor } = await core.history.page(card._id, { limit: req.query.limit, cursor: req.query.cursor });
        return {
          items: items.map((e) => ({
            id: e._id,
            type: e.type,
            amount: e.amount,
            lines: e.lines.map((l) => ({ kind: l.kind, points: l.points, amount: l.amount })),
            balanceAfter: e.result.balanceAfter,
            at: new Date(e.createdAt).toISOString(),
            ...(e.ref.receiptId ? { receiptId: e.ref.receiptId } : {}),
            ...(e.ref.refundId ? { refundId: e.ref.refundId } : {}),
          })),
          nextCursor,
        };
      },
    );
  };
}
