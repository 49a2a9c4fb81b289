import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

export const OPENAPI_PATH = '/api/v1/openapi.json';

/**
 * OpenAPI 3 generated from the route schemas (zod → JSON Schema), served at
 * /api/v1/openapi.json, with Swagger UI at /docs. Registered before any route, so its
 * onRoute hook sees them all.
 */
export const swaggerPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Loyalty Bridge API',
          version: '1',
          description:
            'Till API (store key) and admin API (admin token). Money (`total`, `discount`, `amount`) is integer kopecks; points are integers. ' +
            'Errors are `{"error":{"code","message"}}`; see the README for the codes.',
        },
        tags: [
          { name: 'till', description: 'For tills and web shops; `Authorization: Bearer <store key>`' },
          { name: 'admin', description: 'For the programme owner; `Authorization: Bearer <admin token>`' },
        ],
        components: {
          securitySchemes: {
            storeKey: { type: 'http', scheme: 'bearer', description: 'A store API key (`npm run admin -- store:create "<name>"`)' },
            adminToken: { type: 'http', scheme: 'bearer', description: 'The admin token (ADMIN_TOKEN, or DATA_DIR/admin-token)' },
          },
        },
      },
      transform: jsonSchemaTransform,
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'swagger', fastify: '5.x' },
);
