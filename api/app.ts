import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { registerErrorHandler } from './plugins/errors.plugin.js';
import { healthRoutes, type HealthChecks } from './routes/health.routes.js';

export interface AppDeps {
  logger: FastifyBaseLogger;
  health: HealthChecks;
}

const REQUEST_ID_RE = /^[\w.-]{8,128}$/;

/** The HTTP app as a plugin tree: error handling → health → feature routes. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    // A caller's X-Request-Id is kept when sane (so a till's id shows in our logs), else a UUID.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    bodyLimit: 256 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  registerErrorHandler(app);
  await app.register(healthRoutes(deps.health));
  return app;
}
