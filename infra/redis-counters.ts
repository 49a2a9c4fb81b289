import type { FailureCounters } from '../core/users/login-throttle.js';
import type { Redis } from './redis.js';

/** Fixed-window counters in Redis, shared by every api process. */
export function redisCounters(redis: Redis, prefix: string): FailureCounters {
  return {
    async hit(key, windowMs) {
      const k = `${prefix}${key}`;
      const [[, n]] = (await redis.multi().incr(k).pexpire(k, windowMs, 'NX').exec()) as [[unknown, number], unknown];
      return n;
    },
    async count(key) {
      return Number((await redis.get(`${prefix}${key}`)) ?? 0);
    },
    async clear(key) {
      await redis.del(`${prefix}${key}`);
    },
  };
}

/** The same in this process's memory: a single process without Redis (tests of other features). */
export function memoryCounters(now: () => number = Date.now): FailureCounters {
  const m = new Map<string, { n: number; until: number }>();
  const live = (key: string) => {
    const e = m.get(key);
    if (e && e.until <= now()) m.delete(key);
    return m.get(key);
  };
  return {
    hit(key, windowMs) {
      const e = live(key) ?? { n: 0, until: now() + windowMs };
      e.n += 1;
      m.set(key, e);
      return Promise.resolve(e.n);
    },
    count: (key) => Promise.resolve(live(key)?.n ?? 0),
    clear(key) {
      m.delete(key);
      return Promise.resolve();
    },
  };
}
