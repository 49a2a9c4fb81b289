import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AdminService } from '../../core/admin/admin.service.js';
import { createdStore, createStoreBody, revokedKeys, rotatedKey, rotateKeyBody, storeIdParams, storeList } from '../schemas/admin.schema.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';

/** Admin: stores (tills) and their API keys: create, list, rotate, revoke. */
export function storeRoutes(deps: { admin: AdminService }): FastifyPluginAsyncZod {
  return async (app) => {
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
