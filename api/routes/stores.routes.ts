import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AdminService } from '../../core/admin/admin.service.js';
import { createdStore, createStoreBody, storeList } from '../schemas/admin.schema.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';

/** Admin: stores (tills) and their API keys. */
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
          response: { 201: createdStore, ...errorResponses('concurrent_update') },
        },
      },
      async (req, reply) => reply.code(201).send(await deps.admin.createStore(req.body.name, req.body.cardPrefix)),
    );

    app.get(
      '/stores',
      { schema: { tags: ['admin'], summary: 'List stores (without keys)', security: ADMIN_SECURITY, response: { 200: storeList, ...errorResponses() } } },
      async () => ({ items: await deps.admin.listStores() }),
    );
  };
}
