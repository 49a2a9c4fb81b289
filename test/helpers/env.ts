import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { connectMongo, poolSizeFor, type Connection } from '../../infra/mongo.js';
import { createQueueFactory, type QueueFactory } from '../../infra/queue.factory.js';
import { createRedis, type Redis } from '../../infra/redis.js';

/** The phone hash key of every test core (any ≥ 32 characters; the product's own is PHONE_HASH_SECRET or DATA_DIR's). */
export const TEST_PHONE_SECRET = 'test-phone-hash-secret-0123456789abcdef';

/** A unique name per test file: database names, queue prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export function serverUrls(): { mongoUrl: string; redisUrl: string } {
  return { mongoUrl: inject('mongoUrl'), redisUrl: inject('redisUrl') };
}

/** A connection to this file's own database on the run's MongoDB-wire server. */
export async function testMongo(dbName = uniqueName('t')): Promise<Connection> {
  return connectMongo(inject('mongoUrl'), dbName, 10_000, { maxPoolSize: poolSizeFor(inject('mongoSource')) });
}

export async function testRedis(): Promise<Redis> {
  const r = createRedis(inject('redisUrl'));
  await r.connect();
  return r;
}

export function testQueues(prefix = uniqueName('q')): QueueFactory {
  return createQueueFactory(inject('redisUrl'), prefix);
}
