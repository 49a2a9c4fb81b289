import { createHash } from 'node:crypto';

/** Fixed-window failure counters (Redis in production: infra/redis-counters.ts). */
export interface FailureCounters {
  /** Adds one to `key` and returns the count in the window that began with its first hit. */
  hit(key: string, windowMs: number): Promise<number>;
  count(key: string): Promise<number>;
  clear(key: string): Promise<void>;
}

export interface ThrottlePolicy {
  windowMs: number;
  /** Failed sign-ins per e-mail in a window before that e-mail is refused. */
  perEmail: number;
  /** Failed sign-ins per client address in a window (someone trying many e-mails). */
  perAddress: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { windowMs: 15 * 60_000, perEmail: 5, perAddress: 30 };

// Keys hold no e-mail or address in clear: Redis dumps are not the place for them.
const keyOf = (kind: string, value: string): string => `login:${kind}:${createHash('sha256').update(value.trim().toLowerCase()).digest('hex').slice(0, 32)}`;

/** Login throttling per e-mail and per address: failures count, a success clears the e-mail's count. */
export function createLoginThrottle(counters: FailureCounters, policy: ThrottlePolicy = DEFAULT_THROTTLE) {
  return {
    policy,
    /** True when a sign-in for this e-mail from this address must be refused without checking the password. */
    async blocked(email: string, address: string): Promise<boolean> {
      const [byEmail, byAddress] = await Promise.all([counters.count(keyOf('email', email)), counters.count(keyOf('ip', address))]);
      return byEmail >= policy.perEmail || byAddress >= policy.perAddress;
    },
    async failed(email: string, address: string): Promise<void> {
      await Promise.all([counters.hit(keyOf('email', email), policy.windowMs), counters.hit(keyOf('ip', address), policy.windowMs)]);
    },
    async succeeded(email: string): Promise<void> {
      await counters.clear(keyOf('email', email));
    },
  };
}
export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
