import { createHmac } from 'node:crypto';

/**
 * Keyed hashes (HMAC-SHA-256, hex) of what must be recognised again but not kept: a phone (for
 * bonuses once per phone), an account id inside a rate counter's id. The key lives outside the
 * database (env or DATA_DIR, like the admin token): with only a database dump, the ten billion
 * possible Russian mobiles cannot be hashed to find whose number is whose.
 */
export interface KeyedHasher {
  phone(e164: string): string;
  /** Any value, under a purpose (so equal values of different purposes hash apart). */
  of(purpose: string, value: string): string;
}
export type PhoneHasher = KeyedHasher['phone'];

export const PHONE_HASH_SECRET_MIN = 32;

export function createKeyedHasher(secret: string): KeyedHasher {
  if (secret.length < PHONE_HASH_SECRET_MIN) throw new Error(`the phone hash secret must be at least ${PHONE_HASH_SECRET_MIN} characters`);
  const of = (purpose: string, value: string): string => createHmac('sha256', secret).update(`${purpose}:${value}`).digest('hex');
  return { phone: (e164) => of('phone', e164), of };
}
