import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.js';
import { createLogger } from '../../infra/logger.js';
import { pingMongo, type Connection } from '../../infra/mongo.js';
import { createRedis, pingRedis, type Redis } from '../../infra/redis.js';
import { provideRedis, type Endpoint } from '../../infra/servers.js';
import { testMongo } from '../helpers/env.js';

describe('health endpoints', () => {
  let conn: Connection;
  let redisServer: Endpoint;
  let redis: Redis;
  let app: FastifyInstance;
  beforeAll(async () => {
    conn = await testMongo();
    // This test stops Redis, so it starts its own instead of the run's shared one.
    redisServer = await provideRedis({ storage: { kind: 'temp' } });
    redis = createRedis(redisServer.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    await redis.connect();
    app = await buildApp({
      logger: createLogger('silent'),
      health: { checks: { mongo: () => pingMongo(conn), redis: () => pingRedis(redis) } },
    });
  });
  afterAll(async () => {
    await app.close();
    redis.disconnect();
    await redisServer.stop();
    await conn.close();
  });

  it('healthz answers while the process lives, with a request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'till-42-abcdef' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('till-42-abcdef');
  });

  it('readyz is 200 when Mongo and Redis answer and 503 when Redis is gone', async () => {
    const ok = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'ready', checks: { mongo: 'ok', redis: 'ok' } });

    await redisServer.stop();
    const down = await app.inject({ method: 'GET', url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json().checks.mongo).toBe('ok');
    expect(down.json().checks.redis).not.toBe('ok');
  });

  it('unknown routes are a JSON 404 with a code', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });
});
