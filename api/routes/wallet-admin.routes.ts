import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { OFFER_MAX_LENGTH } from '../../core/wallet/wallet-offers.js';
import type { Wallet } from '../../core/wallet/wallet.service.js';
import { templateDesignSchema } from '../../core/wallet/wallet.types.js';
import type { Core } from '../../core/core.js';
import { ADMIN_SECURITY, cardNumber, cardNumberParams, errorResponses } from '../schemas/common.schema.js';

const templateParams = z.strictObject({ id: z.string().regex(/^[a-z0-9_-]{1,32}$/).describe('"default" or a level id') });
const templateView = z.object({ id: z.string(), design: templateDesignSchema, version: z.int(), updatedAt: z.date().nullable() });
const offerTarget = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('card'), number: cardNumber }),
  z.strictObject({ kind: z.literal('cards'), numbers: z.array(cardNumber).min(1).max(100_000) }),
  z.strictObject({ kind: z.literal('level'), levelId: z.string().min(1).max(32) }),
  z.strictObject({ kind: z.literal('all') }),
]);

/** Admin: pass links, templates (re-skins) and offers on passes. Register inside the admin scope. */
export function walletAdminRoutes(deps: { core: Core; wallet: Wallet }): FastifyPluginAsyncZod {
  const { core, wallet } = deps;
  return async (app) => {
    app.get(
      '/cards/:number/wallet-link',
      {
        schema: {
          tags: ['admin'],
          summary: "The card's Apple Wallet link (…/wallet/<signed token>.pkpass)",
          security: ADMIN_SECURITY,
          params: cardNumberParams,
          response: { 200: z.object({ url: z.url() }), ...errorResponses('invalid_card_number', 'card_not_found') },
        },
      },
      async (req) => {
        const card = await core.cards.resolve(req.params.number, { allowInactive: true });
        return { url: wallet.linkFor(card._id) };
      },
    );

    app.get(
      '/wallet/templates',
      { schema: { tags: ['admin'], summary: 'Pass templates changed from their model folders', security: ADMIN_SECURITY, response: { 200: z.object({ items: z.array(templateView) }), ...errorResponses() } } },
      async () => ({ items: await wallet.templates.list() }),
    );

    app.get(
      '/wallet/templates/:id',
      { schema: { tags: ['admin'], summary: 'A pass template', security: ADMIN_SECURITY, params: templateParams, response: { 200: templateView, ...errorResponses() } } },
      async (req) => wallet.templates.get(req.params.id),
    );

    app.put(
      '/wallet/templates/:id',
      {
        schema: {
          tags: ['admin'],
          summary: 'Re-skin: replace a template design (colours, logo, labels, contacts, locations)',
          description: 'Every pass drawn from the template ("default": every pass) is updated and its holders notified, at WALLET_PUSH_RATE passes per second.',
          security: ADMIN_SECURITY,
          params: templateParams,
          body: templateDesignSchema,
          response: { 200: templateView.extend({ passes: z.int().describe('Passes that will be updated') }), ...errorResponses() },
        },
      },
      async (req) => wallet.templates.put(req.params.id, req.body),
    );

    app.post(
      '/wallet/offers',
      {
        schema: {
          tags: ['admin'],
          summary: 'Show an offer on passes (lock-screen notification, then on the back until the next one)',
          security: ADMIN_SECURITY,
          body: z.strictObject({ text: z.string().trim().min(1).max(OFFER_MAX_LENGTH), target: offerTarget }),
          response: { 200: z.object({ passes: z.int(), invalid: z.array(z.string()) }), ...errorResponses('invalid_card_number', 'card_not_found') },
        },
      },
      async (req) => wallet.setOffer(req.body.target, req.body.text),
    );
  };
}
