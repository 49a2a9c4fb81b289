import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AdminService } from '../../core/admin/admin.service.js';
import type { I18n } from '../../core/i18n/i18n.js';
import { createdStore, createStoreBody, revokedKeys, rotatedKey, rotateKeyBody, storeIdParams, storeList } from '../schemas/admin.schema.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';

/** Admin: stores (tills) and their API keys: create, list, rotate, revoke. */
export function storeRoutes(deps: { admin: AdminService; i18n: I18n; publicUrl?: string | undefined }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/stores/:id/poster.pdf',
      {
        schema: {
          tags: ['admin'],
          summary: "A printable A4 poster for the store's counter: its name, a call to action and the QR code of /join?store=<id>",
          security: ADMIN_SECURITY,
          params: storeIdParams,
          querystring: z.strictObject({ lang: z.enum(['ru', 'en']).default('ru').describe('Language of the poster (English when the server has no Cyrillic font)') }),
          response: { 200: z.any().describe('application/pdf'), ...errorResponses('store_not_found') },
        },
      },
      async (req, reply) => {
        // PUBLIC_URL when known (the address customers reach), else the address this request came to.
        const publicUrl = deps.publicUrl ?? `${req.protocol}://${req.host}`;
        const r = await deps.admin.storePoster(req.params.id, { publicUrl, lang: req.query.lang, i18n: deps.i18n });
        return reply.header('content-type', 'application/pdf').header('content-disposition', `inline; filename="${r.fileName}"`).send(r.pdf);
      },
    );

    app.post(
      '/stores',
      {
        schema: {
          tags: ['admin'],
          summary: 'Create a store and its API key',
          description: 'The key is in this response only; it is stored hashed and cannot be shown again.',
          security: ADMIN_SECURITY,
          body: createStoreBody,
          response: { 201: createdStore, ...errorResponses('concurrent_update', 'partner_not_found') },
        },
      },
      async (req, reply) => reply.code(201).send(await deps.admin.createStore(req.body.name, req.body.cardPrefix, req.body.partnerId)),
    );

    app.get(
      '/stores',
      { schema: { tags: ['admin'], summary: 'List stores (without keys)', security: ADMIN_SECURITY, response: { 200: storeList, ...errorResponses() } } },
      async () => ({ items: await deps.admin.listStores() }),
    );

    app.post(
      '/stores/:id/keys',
      {
        schema: {
          tags: ['admin'],
          summary: 'Rotate the store API key: a new key; the earlier ones stop now or after graceMinutes',
          description: 'The new key is in this response only; it is stored hashed and cannot be shown again.',
          security: ADMIN_SECURITY,
          params: storeIdParams,
          body: rotateKeyBody,
          response: { 201: rotatedKey, ...errorResponses('store_not_found') },
        },
      },
      async (req, reply) => {
        const r = await deps.admin.rotateStoreKey(req.params.id, req.body.graceMinutes);
        return reply.code(201).send({ ...r, previousValidUntil: r.previousValidUntil?.toISOString() ?? null });
      },
    );

    app.delete(
      '/stores/:id/keys',
      {
        schema: {
          tags: ['admin'],
          summary: "Revoke every key of the store now (a leaked key); the store's tills are refused until a key is rotated in",
          security: ADMIN_SECURITY,
          params: storeIdParams,
          response: { 200: revokedKeys, ...errorResponses('store_not_found') },
        },
      },
      async (req) => deps.admin.revokeStoreKeys(req.params.id),
    );
  };
}
