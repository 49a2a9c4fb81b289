import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppDeps } from '../../api/app.js';
import { createCore, type Core } from '../../core/core.js';
import { createLogger } from '../../infra/logger.js';
import type { Connection } from '../../infra/mongo.js';
import { TEST_PHONE_SECRET, testMongo } from './env.js';

export interface TestApi {
  app: FastifyInstance;
  core: Core;
  conn: Connection;
  adminToken: string;
  /** app.inject with a bearer token and a JSON body. */
  call(method: InjectOptions['method'], url: string, opts?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** The whole app on this file's own database: real core, real FerretDB, nothing mocked. */
export async function startTestApi(extra: Partial<AppDeps> = {}): Promise<TestApi> {
  const conn = await testMongo();
  const core = createCore({ conn, guardedCardWrites: inject('mongoSource') !== 'ferretdb', phoneHashSecret: TEST_PHONE_SECRET });
  await core.init();
  const adminToken = randomBytes(24).toString('base64url');
  const app = await buildApp({
    logger: createLogger('silent'),
    health: { checks: {} },
    core,
    adminToken,
    // High enough for the functional tests; the limit itself is tested on its own app.
    lookupRateLimit: { max: 10_000, timeWindowMs: 60_000 },
    ...extra,
  });
  return {
    app,
    core,
    conn,
    adminToken,
    call: (method, url, opts = {}) =>
      app.inject({
        method,
        url,
        headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
        ...(opts.body !== undefined ? { payload: opts.body as Record<string, unknown> } : {}),
      }),
    async close() {
      core.close();
      await app.close();
      await conn.close();
    },
  };
}
