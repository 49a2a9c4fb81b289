import type { Connection } from 'mongoose';
import type { Clock } from './clock.js';
import { isDuplicateKey } from './errors.js';
import { rateCounterModel } from './rate-counter.model.js';

export interface RateLimit {
  /** Hits allowed per window; the next one is refused. */
  max: number;
  windowMs: number;
}

export interface RateHit {
  allowed: boolean;
  count: number;
  /** When the current window ends (a refusal's retry time). */
  resetAt: Date;
}

/**
 * Limits counted in MongoDB, shared by every process: one document per scope, key and fixed
 * window, addressed by `_id` (the only look-up FerretDB v1 answers from an index) and counted
 * with one atomic upsert. Keys are hashed by the caller's keyed hash, so an account id never
 * sits in a counter's id.
 */
export function createRateCounters(deps: { conn: Connection; clock: Clock; hashKey: (scope: string, key: string) => string }) {
  const Counters = rateCounterModel(deps.conn);
  return {
    async init(): Promise<void> {
      await Counters.createIndexes();
    },

    /** Counts one hit of `key` under `scope`; `allowed` while the window has seen at most `max`. */
    async hit(scope: string, key: string, limit: RateLimit): Promise<RateHit> {
      const now = deps.clock.now().getTime();
      const window = Math.floor(now / limit.windowMs);
      const resetAt = new Date((window + 1) * limit.windowMs);
      const _id = `${scope}:${deps.hashKey(scope, key).slice(0, 32)}:${window}`;
      for (let attempt = 0; ; attempt++) {
        try {
          const doc = await Counters.findOneAndUpdate({ _id }, { $inc: { count: 1 }, $setOnInsert: { expiresAt: resetAt } }, { upsert: true, returnDocument: 'after' }).lean();
          const count = doc?.count ?? 1;
          return { allowed: count <= limit.max, count, resetAt };
        } catch (err) {
          // Two first hits of a window at once: one inserts, the other counts again.
          if (!isDuplicateKey(err) || attempt >= 2) throw err;
        }
      }
    },

    /** How many hits the current window of `key` has seen (without counting one). */
    async peek(scope: string, key: string, limit: RateLimit): Promise<number> {
      const window = Math.floor(deps.clock.now().getTime() / limit.windowMs);
      const doc = await Counters.findById(`${scope}:${deps.hashKey(scope, key).slice(0, 32)}:${window}`).lean();
      return doc?.count ?? 0;
    },

    /** Deletes counters of windows that have ended (maintenance). */
    async prune(): Promise<number> {
      return (await Counters.deleteMany({ expiresAt: { $lt: deps.clock.now() } })).deletedCount;
    },
  };
}
export type RateCounters = ReturnType<typeof createRateCounters>;
