import { createHash } from 'node:crypto';
import { DomainError } from '../shared/errors.js';

/** A request's fingerprint: the same id with another body is an idempotency conflict. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export function positiveInt(n: number, name: string, allowZero = true): void {
  if (!Number.isSafeInteger(n) || n < 0 || (!allowZero && n === 0)) {
    throw new DomainError('validation_failed', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer (kopecks/points)`);
  }
}

/**
 * The largest receipt a till may send: 1 000 000 ₽. Far above any shop's receipt, it stops a
 * total sent in the wrong unit (or a compromised till) from minting millions of points in one
 * request, and keeps every amount far from the float limits.
 */
export const MAX_RECEIPT_KOPECKS = 100_000_000;
