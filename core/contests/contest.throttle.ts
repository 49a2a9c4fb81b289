import type { Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import type { ContestThrottleModel } from './contest.model.js';

/** Where refusals are logged; a pino logger fits. */
export interface ContestLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}
export const silentLog: ContestLog = { info: () => undefined, warn: () => undefined };

export interface ThrottleLimits {
  /** Wrong numbers allowed per window; the next attempt is refused. */
  max: number;
  windowMs: number;
}
/** Rule (issue): 5 wrong card numbers per social account in 10 minutes, against guessing numbers. */
export const DEFAULT_THROTTLE: ThrottleLimits = { max: 5, windowMs: 10 * 60_000 };

/**
 * Wrong-number throttle per social account (`telegram:123`), across contests, in MongoDB: one
 * counter document per account whose window opens at its first wrong number. Concurrent
 * wrong numbers may overshoot by one or two, which is harmless against guessing.
 */
export function createContestThrottle(deps: { Throttle: ContestThrottleModel; clock: Clock; log: ContestLog; limits?: ThrottleLimits }) {
  const { Throttle, clock, log } = deps;
  const limits = deps.limits ?? DEFAULT_THROTTLE;

  return {
    log,

    /** Refuses with contest_throttled (and logs it) while the account has used up its window. */
    async check(account: string, context: Record<string, unknown>): Promise<void> {
      const now = clock.now();
      const doc = await Throttle.findById(account).lean();
      if (!doc || doc.count < limits.max || doc.windowStart.getTime() + limits.windowMs <= now.getTime()) return;
      const retryAt = new Date(doc.windowStart.getTime() + limits.windowMs);
      await Throttle.updateOne({ _id: account }, { $inc: { refused: 1 }, $set: { lastRefusedAt: now } });
      log.warn({ ...context, account, wrongNumbers: doc.count, retryAt: retryAt.toISOString() }, 'contest entry throttled: too many wrong card numbers');
      throw new DomainError('contest_throttled', `too many wrong card numbers; try again after ${retryAt.toISOString()}`, {
        retryAfterSeconds: Math.max(1, Math.ceil((retryAt.getTime() - now.getTime()) / 1000)),
      });
    },

    /** Erasure: the counters of these accounts (their `_id` is the account). */
    async forget(accounts: readonly string[]): Promise<void> {
      if (accounts.length > 0) await Throttle.deleteMany({ _id: { $in: [...accounts] } });
    },

    /** Counts one wrong number (malformed, or not the account's own card) against the account. */
    async recordWrong(account: string, context: Record<string, unknown>): Promise<void> {
      const now = clock.now();
      const since = new Date(now.getTime() - limits.windowMs);
      for (let attempt = 0; attempt < 3; attempt++) {
        const inWindow = await Throttle.updateOne({ _id: account, windowStart: { $gt: since } }, { $inc: { count: 1 } });
        if (inWindow.matchedCount === 1) break;
        try {
          // No window yet, or it ended: open a new one. A concurrent opener makes this a duplicate, then we count in its window.
          await Throttle.updateOne(
            { _id: account, $or: [{ windowStart: { $lte: since } }, { windowStart: null }] },
            { $set: { windowStart: now, count: 1 } },
            { upsert: true },
          );
          break;
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
        }
      }
      log.info({ ...context, account }, 'contest entry: wrong card number');
    },
  };
}
export type ContestThrottle = ReturnType<typeof createContestThrottle>;
