import { Redis, type RedisOptions } from 'ioredis';
import { withTimeout } from './timeout.js';

export { Redis };

/**
 * A command connection for our own keys and for BullMQ queues (producers): it fails fast
 * instead of queueing commands forever while Redis is down.
 */
export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    enableOfflineQueue: true,
    ...extra,
  });
}

export async function pingRedis(redis: Redis): Promise<void> {
  await withTimeout(redis.ping(), 1500, 'redis ping timed out');
}
