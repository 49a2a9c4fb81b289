import { randomInt } from 'node:crypto';
import { DomainError } from '../shared/errors.js';

/**
 * Loyalty card numbers: PREFIX + random digits + one Luhn check digit.
 *
 * The prefix (1–4 of A-Z 0-9) tells which channel or store issued the card. The random part
 * comes from a CSPRNG, never a counter, so a number cannot be guessed from a neighbour's. The
 * Luhn digit catches a mistyped digit or two swapped neighbours before a lookup hits the
 * database; it runs over the digits only, so letter prefixes such as 'VK' are ignored by it.
 */

export const CARD_PREFIX_RE = /^[A-Z0-9]{1,4}$/;
export const CARD_NUMBER_MIN_LENGTH = 8;
export const CARD_NUMBER_MAX_LENGTH = 24;

/** Letters may only appear in the prefix (first 4 characters); the rest are digits. */
const CARD_SHAPE_RE = /^[A-Z0-9]{1,4}[0-9]+$/;
/** What people type between groups: spaces (also NBSP, narrow NBSP), dashes, dots. */
const SEPARATORS_RE = /[\s\u00A0\u202F.\-\u2010-\u2015\u2212]/g;
const MASK_CHAR = '•';

/** The Luhn check digit for a payload; non-digit characters (letter prefixes) are skipped. */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  // Walk from the right: the digit next to the (future) check digit is doubled first.
  let double = true;
  for (let i = digits.length - 1; i >= 0; i--) {
    const c = digits.charCodeAt(i) - 48;
    if (c < 0 || c > 9) continue;
    let d = c;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when the last character is the Luhn digit of everything before it. */
export function hasValidCheckDigit(number: string): boolean {
  if (number.length < 2) return false;
  const last = number.charCodeAt(number.length - 1) - 48;
  if (last < 0 || last > 9) return false;
  return luhnCheckDigit(number.slice(0, -1)) === last;
}

/**
 * A fresh card number. `rand(max)` must return an integer in [0, max); it defaults to
 * node:crypto's randomInt and is injectable only so tests can pin the digits.
 */
export function generateCardNumber(prefix: string, randomDigits = 11, rand: (max: number) => number = randomInt): string {
  if (!CARD_PREFIX_RE.test(prefix)) {
    throw new DomainError('validation_failed', `card prefix must be 1–4 of A-Z 0-9, got ${JSON.stringify(prefix)}`);
  }
  const length = prefix.length + randomDigits + 1;
  if (!Number.isInteger(randomDigits) || randomDigits < 1 || length < CARD_NUMBER_MIN_LENGTH || length > CARD_NUMBER_MAX_LENGTH) {
    throw new DomainError(
      'validation_failed',
      `card number length must be ${CARD_NUMBER_MIN_LENGTH}–${CARD_NUMBER_MAX_LENGTH} (prefix ${prefix.length} + ${randomDigits} random + 1 check digit)`,
    );
  }
  let body = prefix;
  for (let i = 0; i < randomDigits; i++) {
    const d = rand(10);
    // A broken injected source must not produce letters or multi-digit chunks silently.
    if (!Number.isInteger(d) || d < 0 || d > 9) throw new Error(`random source returned ${d}, expected an integer in [0, 10)`);
    body += String(d);
  }
  return body + String(luhnCheckDigit(body));
}

/**
 * Canonical form of what a person typed or a scanner read: upper case, separators dropped.
 * Null when anything else than A-Z, 0-9 and separators is present, or the length is off.
 */
export function normalizeCardNumber(input: string): string | null {
  const stripped = input.replace(SEPARATORS_RE, '');
  // Checked before upper-casing: 'ß'.toUpperCase() is 'SS', which would sneak letters in.
  if (!/^[A-Za-z0-9]*$/.test(stripped)) return null;
  if (stripped.length < CARD_NUMBER_MIN_LENGTH || stripped.length > CARD_NUMBER_MAX_LENGTH) return null;
  return stripped.toUpperCase();
}

export type ParsedCardNumber = { ok: true; number: string } | { ok: false; code: 'invalid_card_number' };

/** Normalizes and checks shape and Luhn digit; the caller still looks the card up. */
export function parseCardNumber(input: string): ParsedCardNumber {
  const number = normalizeCardNumber(input);
  if (number === null || !CARD_SHAPE_RE.test(number) || !hasValidCheckDigit(number)) {
    return { ok: false, code: 'invalid_card_number' };
  }
  return { ok: true, number };
}

/**
 * Shows the prefix and the last 4 characters, e.g. '71•••••••••1234'. The number does not
 * record how long its prefix is; when the caller does not say, letters (which only occur in
 * prefixes) extend it, otherwise 2 is assumed, the length of the channel prefixes. At least
 * one character is always masked.
 */
export function maskCardNumber(n: string, prefixLength?: number): string {
  const s = normalizeCardNumber(n) ?? n;
  let lastLetter = -1;
  for (let i = 0; i < Math.min(s.length, 4); i++) if (/[A-Z]/i.test(s.charAt(i))) lastLetter = i;
  const wanted = prefixLength ?? Math.max(2, lastLetter + 1);
  const tail = Math.min(4, Math.max(0, s.length - 1));
  const head = Math.max(0, Math.min(wanted, s.length - tail - 1));
  return s.slice(0, head) + MASK_CHAR.repeat(s.length - head - tail) + s.slice(s.length - tail);
}
