import type { FastifyInstance } from 'fastify';

export interface HealthChecks {
  /** Each check resolves when its service answers, rejects otherwise. */
  checks: Record<string, () => Promise<void>>;
}

export function healthRoutes(deps: HealthChecks) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      const entries = await Promise.all(
        Object.entries(deps.checks).map(async ([name, check]) => {
          try {
            await check();
            return [name, 'ok'] as const;
          } catch (err) {
            return [name, (err as Error).message || 'down'] as const;
          }
        }),
      );
      const ready = entries.every(([, s]) => s === 'ok');
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(entries) });
    });
  };
}
