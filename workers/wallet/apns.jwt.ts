import { sign, type KeyObject } from 'node:crypto';

/**
 * The provider token of APNs token auth: a JWT signed ES256 with the .p8 key, header
 * { alg, kid }, claims { iss: team id, iat }. APNs rejects tokens older than an hour and
 * also ones renewed more often than every 20 minutes, so one token is reused and replaced
 * after 50 minutes, or at once when APNs answers ExpiredProviderToken.
 */
export interface ProviderToken {
  current(): string;
  /** Forces a new token (after 403 ExpiredProviderToken). */
  renew(): string;
}

export const TOKEN_LIFETIME_MS = 50 * 60 * 1000;

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export function signProviderToken(key: KeyObject, keyId: string, teamId: string, nowMs: number): string {
  const input = `${b64({ alg: 'ES256', kid: keyId })}.${b64({ iss: teamId, iat: Math.floor(nowMs / 1000) })}`;
  // JWS wants the raw r‖s signature, not DER.
  const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

export function createProviderToken(opts: { key: KeyObject; keyId: string; teamId: string; now?: () => number; lifetimeMs?: number }): ProviderToken {
  const now = opts.now ?? Date.now;
  const lifetime = opts.lifetimeMs ?? TOKEN_LIFETIME_MS;
  let token = '';
  let issuedAt = -Infinity;
  const renew = (): string => {
    issuedAt = now();
    token = signProviderToken(opts.key, opts.keyId, opts.teamId, issuedAt);
    return token;
  };
  return {
    current: () => (now() - issuedAt >= lifetime ? renew() : token),
    renew,
  };
}
