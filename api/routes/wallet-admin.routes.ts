import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DomainError } from '../../core/shared/errors.js';
import { STRIP_SIZES, STRIP_UPLOAD_MAX } from '../../core/wallet/pass-image.js';
import { OFFER_MAX_LENGTH } from '../../core/wallet/wallet-offers.js';
import type { Wallet } from '../../core/wallet/wallet.service.js';
import { templateDesignSchema } from '../../core/wallet/wallet.types.js';
import type { Core } from '../../core/core.js';
import { ADMIN_SECURITY, cardNumber, cardNumberParams, errorResponses } from '../schemas/common.schema.js';

const templateParams = z.strictObject({ id: z.string().regex(/^[a-z0-9_-]{1,32}$/).describe('"default" or a level id') });
const templateView = z.object({ id: z.string(), design: templateDesignSchema, version: z.int(), updatedAt: z.date().nullable() });
const published = templateView.extend({ passes: z.int().describe('Passes that will be updated') });
const STRIP_TYPES = ['image/png', 'image/jpeg'];
const sendPng = (reply: FastifyReply, png: Buffer): FastifyReply => reply.type('image/png').send(png);
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
    // A strip image is sent as it is (curl --data-binary @strip.jpg), up to its own size limit.
    app.addContentTypeParser(STRIP_TYPES, { parseAs: 'buffer', bodyLimit: STRIP_UPLOAD_MAX }, (_req, body, done) => {
      done(null, body);
    });

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
          response: { 200: published, ...errorResponses() },
        },
      },
      async (req) => wallet.templates.put(req.params.id, req.body),
    );

    app.put(
      '/wallet/templates/:id/strip',
      {
        schema: {
          tags: ['admin'],
          summary: "Upload the template's strip image (PNG or JPEG, sent as the body) and publish the design with it",
          description:
            `Content-Type image/png or image/jpeg, up to ${STRIP_UPLOAD_MAX / 1024 / 1024} MB, at least 375 × 123 pixels. It is cropped around the centre to the strip's shape and ` +
            `resized to ${STRIP_SIZES.map((s) => `${s.width} × ${s.height}`).join(', ')} (strip.png, @2x, @3x); the design's \`strip\` is then its id. ` +
            'Every pass drawn from the template is updated, as with PUT …/templates/{id}.',
          security: ADMIN_SECURITY,
          consumes: STRIP_TYPES,
          params: templateParams,
          response: { 200: published, ...errorResponses() },
        },
      },
      async (req) => {
        if (!Buffer.isBuffer(req.body)) throw new DomainError('validation_failed', 'send the image as the body, Content-Type image/png or image/jpeg', { field: 'strip' });
        return wallet.templates.setStrip(req.params.id, req.body);
      },
    );

    app.delete(
      '/wallet/templates/:id/strip',
      {
        schema: {
          tags: ['admin'],
          summary: "Remove the template's own strip image (passes of a level then show the default template's strip, if it has one)",
          security: ADMIN_SECURITY,
          params: templateParams,
          response: { 200: published, ...errorResponses() },
        },
      },
      async (req) => wallet.templates.removeStrip(req.params.id),
    );

    app.get(
      '/wallet/templates/:id/strip.png',
      {
        schema: {
          tags: ['admin'],
          summary: "The template's own strip image as the pass carries it",
          security: ADMIN_SECURITY,
          params: templateParams,
          querystring: z.strictObject({ scale: z.enum(['1', '2', '3']).default('3').describe('@1x, @2x or @3x') }),
          response: { 200: z.string().describe('PNG'), ...errorResponses() },
        },
      },
      async (req, reply) => {
        const id = (await wallet.templates.get(req.params.id)).design.strip;
        const files = id ? await wallet.templates.stripFiles(id) : null;
        if (!files) throw new DomainError('not_found', `template ${req.params.id} has no strip image of its own`);
        const file = STRIP_SIZES[Number(req.query.scale) - 1]?.file ?? 'strip@3x.png';
        return sendPng(reply, files[file]);
      },
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
