import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Core } from '../../core/core.js';
import { cardLevelView, langOf } from '../presenters/card.presenter.js';
import {
  adjustBody,
  adjustResult,
  cardStatusResult,
  importBody,
  importResult,
  setLevelBody,
  setLevelResult,
} from '../schemas/admin.schema.js';
import { ADMIN_SECURITY, cardNumberParams, errorResponses } from '../schemas/common.schema.js';

const cardErrors = ['invalid_card_number', 'card_not_found'] as const;

/** Admin operations on cards: block, unblock, staff level, plastic import, manual adjustment. */
export function cardAdminRoutes(deps: { core: Core }): FastifyPluginAsyncZod {
  const { core } = deps;
  // The admin acts on blocked cards too (to unblock them); a typed plastic number leads to its card.
  const cardOf = (number: string) => core.cards.resolve(number, { allowInactive: true });

  return async (app) => {
    for (const [action, status] of [['block', 'blocked'], ['unblock', 'active']] as const) {
      app.post(
        `/cards/:number/${action}`,
        {
          schema: {
            tags: ['admin'],
            summary: action === 'block' ? 'Block a card (no look-ups, purchases or movements)' : 'Unblock a card',
            security: ADMIN_SECURITY,
            params: cardNumberParams,
            response: { 200: cardStatusResult, ...errorResponses(...cardErrors) },
          },
        },
        async (req) => {
          const card = await core.cards.setStatus((await cardOf(req.params.number))._id, status);
          return { number: card._id, status };
        },
      );
    }

    app.put(
      '/cards/:number/level',
      {
        schema: {
          tags: ['admin'],
          summary: 'Assign a level by hand (e.g. staff), or null to return to the level by spend',
          security: ADMIN_SECURITY,
          params: cardNumberParams,
          body: setLevelBody,
          response: { 200: setLevelResult, ...errorResponses(...cardErrors) },
        },
      },
      async (req) => {
        const settings = await core.settings.current();
        const number = (await cardOf(req.params.number))._id;
        await core.ledger.setLevel({ card: number, levelId: req.body.levelId, author: 'admin' });
        const card = await cardOf(number);
        return { number: card._id, manualLevelId: card.manualLevelId, level: cardLevelView(core, card, settings, langOf(req)) };
      },
    );

    app.post(
      '/cards/import',
      {
        schema: {
          tags: ['admin'],
          summary: 'Import plastic card numbers already handed out (members link them later)',
          security: ADMIN_SECURITY,
          body: importBody,
          response: { 200: importResult, ...errorResponses() },
        },
      },
      async (req) => core.cards.importPlastic(req.body.numbers),
    );

    app.post(
      '/cards/:number/adjust',
      {
        schema: {
          tags: ['admin'],
          summary: 'Add or take points by hand',
          description: 'Idempotent per idempotencyKey: a repeat answers 200 with the first result; the same key with other points 409 idempotency_conflict.',
          security: ADMIN_SECURITY,
          params: cardNumberParams,
          body: adjustBody,
          response: {
            201: adjustResult.describe('Applied now'),
            200: adjustResult.describe('Applied earlier with this key: the first result'),
            ...errorResponses(...cardErrors, 'card_blocked', 'insufficient_points', 'idempotency_conflict'),
          },
        },
      },
      async (req, reply) => {
        const card = await cardOf(req.params.number);
        const { points, reason, idempotencyKey } = req.body;
        const r = await core.ledger.adjust({ key: idempotencyKey, card: card._id, points, reason, author: 'admin' });
        return reply.code(r.replayed ? 200 : 201).send({ entryId: r.entryId, amount: r.amount, balance: r.balanceAfter });
      },
    );
  };
}
