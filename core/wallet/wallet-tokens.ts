import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { sameSecret } from '../shared/secrets.js';

/**
 * The wallet's secrets, all derived from one server secret (WALLET_LINK_SECRET) with HKDF so
 * that a key leaked from one use says nothing about the others:
 *  - distribution links `<base64url serial>.<HMAC>`: a card number alone cannot be turned into
 *    a link, so links cannot be enumerated;
 *  - per-pass authentication tokens: HMAC(secret, serial | random salt). The pass carries the
 *    token, we store only the salt and sha256(token). A pass is re-signed on every change and
 *    must carry the same token, so it is derived again rather than kept;
 *  - the key that encrypts cached signed passes (they contain the token).
 */
export interface WalletTokens {
  link(serial: string): string;
  /** The serial a link token names, or null when it is malformed or forged. */
  parseLink(token: string): string | null;
  newSalt(): string;
  authToken(serial: string, salt: string): string;
  cacheKey: Buffer;
}

const LINK_MAC_BYTES = 16;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time check of a presented token against a stored sha256. */
export function tokenMatches(token: string, storedHash: string): boolean {
  return sameSecret(hashToken(token), storedHash);
}

export function createWalletTokens(secret: string): WalletTokens {
  if (secret.length < 32) throw new Error('the wallet link secret must be at least 32 characters');
  const derive = (info: string): Buffer => Buffer.from(hkdfSync('sha256', secret, 'loyalty-wallet', info, 32));
  const linkKey = derive('link');
  const authKey = derive('auth-token');
  const mac = (serial: string): Buffer => createHmac('sha256', linkKey).update(serial).digest().subarray(0, LINK_MAC_BYTES);
  return {
    link(serial) {
      return `${Buffer.from(serial).toString('base64url')}.${mac(serial).toString('base64url')}`;
    },
    parseLink(token) {
      const m = /^([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{22})$/.exec(token);
      if (!m?.[1] || !m[2]) return null;
      const serial = Buffer.from(m[1], 'base64url').toString();
      if (!/^[0-9A-Z]{4,32}$/.test(serial) || Buffer.from(serial).toString('base64url') !== m[1]) return null;
      // Compared as canonical text: base64 has several spellings of the same bytes, a link has one.
      return sameSecret(m[2], mac(serial).toString('base64url')) ? serial : null;
    },
    newSalt: () => randomBytes(16).toString('base64url'),
    authToken(serial, salt) {
      // 43 characters of base64url: Apple wants at least 16.
      return createHmac('sha256', authKey).update(`${serial}|${salt}`).digest('base64url');
    },
    cacheKey: derive('pass-cache'),
  };
}
