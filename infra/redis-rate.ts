import type { JoinLimiter } from '../core/enrolment/web-join.service.js';
import type { Redis } from './redis.js';

/**
 * Fixed-window counters in Redis, shared by every API process: one key per scope, (hashed) key
 * and window, INCR then PEXPIRE in one MULTI, so a counter never outlives its window.
 */
export function createRedisRateLimiter(redis: Redis, prefix: string): JoinLimiter {
  return {
    async hit(scope, key, limit) {
      const window = Math.floor(Date.now() / limit.windowMs);
      const resetAt = new Date((window + 1) * limit.windowMs);
      const k = `${prefix}${scope}:${key.slice(0, 32)}:${window}`;
      const r = await redis.multi().incr(k).pexpire(k, limit.windowMs).exec();
      const count = Number(r?.[0]?.[1] ?? 0);
      return { allowed: count <= limit.max, count, resetAt };
    },
  };
}
