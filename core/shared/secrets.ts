import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret (token, webhook secret, MAC, code hash) with the expected one in
 * constant time. Both are hashed first, so neither the content nor the length of the expected
 * value leaks through timing, and values of different lengths compare without throwing.
 */
export function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
