import type { KeyObject } from 'node:crypto';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { createProviderToken } from './apns.jwt.js';

/**
 * A small APNs client for Wallet pass pushes: HTTP/2 with token auth, one persistent session
 * (reopened when APNs closes it), at most `concurrency` pushes in flight. One attempt per push:
 * what to do with a 429, a 5xx or a network error is the pass-update job's call (its BullMQ
 * attempts and backoff are the one retry layer). Only an expired provider token is renewed and
 * the push sent again at once, since that is our credential, not APNs' state.
 *
 * Why not @parse/node-apn: it writes no body when the payload is `{}` (its issue #219), and
 * Wallet wants exactly `{}`; its retries also ignore Retry-After (it reads the header with the
 * wrong case) and do not back off.
 */
export interface ApnsClientOptions {
  /** Base URL: https://api.push.apple.com, https://api.sandbox.push.apple.com, or a fake. */
  host: string;
  key: KeyObject;
  keyId: string;
  teamId: string;
  /** Extra trusted CA (a fake APNs in tests); production trusts the system roots. */
  ca?: string | Buffer | undefined;
  concurrency?: number;
  requestTimeoutMs?: number;
  now?: () => number;
}

export interface PushResult {
  /** HTTP status; 0 when no answer came (network error, timeout). */
  status: number;
  reason?: string | undefined;
  apnsId?: string | undefined;
  /** With 410: when APNs learned the token was gone (ms). */
  timestamp?: number | undefined;
  /** With 429/503: how long APNs asked us to wait (Retry-After), when it said. */
  retryAfterMs?: number | undefined;
}

export interface ApnsClient {
  push(deviceToken: string, topic: string): Promise<PushResult>;
  /** HTTP/2 sessions opened so far (one, unless APNs closed one). */
  readonly sessionsOpened: number;
  close(): Promise<void>;
}

interface Attempt {
  status: number;
  reason?: string | undefined;
  apnsId?: string | undefined;
  timestamp?: number | undefined;
  retryAfterMs?: number | undefined;
}

export function createApnsClient(opts: ApnsClientOptions): ApnsClient {
  const limit = opts.concurrency ?? 100;
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const token = createProviderToken({ key: opts.key, keyId: opts.keyId, teamId: opts.teamId, ...(opts.now ? { now: opts.now } : {}) });
  let session: ClientHttp2Session | null = null;
  let opened = 0;
  let closed = false;
  let active = 0;
  const waiting: (() => void)[] = [];

  function live(): ClientHttp2Session {
    if (session && !session.closed && !session.destroyed) return session;
    const s = connect(opts.host, opts.ca ? { ca: opts.ca } : {});
    opened++;
    const drop = (): void => {
      if (session === s) session = null;
    };
    // A session error also fails its streams, which retry on a new session.
    s.on('error', drop);
    s.on('goaway', drop);
    s.on('close', drop);
    session = s;
    return s;
  }

  async function acquire(): Promise<void> {
    if (active < limit) {
      active++;
      return;
    }
    await new Promise<void>((r) => waiting.push(r));
  }
  function release(): void {
    const next = waiting.shift();
    if (next) next();
    else active--;
  }

  function once(deviceToken: string, topic: string): Promise<Attempt> {
    return new Promise((resolve) => {
      let req;
      try {
        req = live().request({
          ':method': 'POST',
          ':path': `/3/device/${deviceToken}`,
          authorization: `bearer ${token.current()}`,
          'apns-topic': topic,
          'content-type': 'application/json',
        });
      } catch (err) {
        resolve({ status: 0, reason: (err as Error).message });
        return;
      }
      let status = 0;
      let apnsId: string | undefined;
      let retryAfter: string | undefined;
      const chunks: Buffer[] = [];
      req.on('response', (h) => {
        status = h[':status'] ?? 0;
        apnsId = typeof h['apns-id'] === 'string' ? h['apns-id'] : undefined;
        retryAfter = typeof h['retry-after'] === 'string' ? h['retry-after'] : undefined;
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: { reason?: string; timestamp?: number } = {};
        try {
          if (chunks.length > 0) body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
        } catch {
          // APNs answers JSON; anything else leaves the reason empty.
        }
        const seconds = Number(retryAfter);
        resolve({ status, reason: body.reason, apnsId, timestamp: body.timestamp, retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined });
      });
      req.on('error', (err: Error) => resolve({ status: 0, reason: err.message }));
      req.setTimeout(timeoutMs, () => {
        req.close(constants.NGHTTP2_CANCEL);
        resolve({ status: 0, reason: 'timeout' });
      });
      // Wallet pass updates carry an empty JSON dictionary: the device then asks our web service.
      req.end('{}');
    });
  }

  return {
    get sessionsOpened() {
      return opened;
    },
    async push(deviceToken, topic) {
      const attempt = async (): Promise<Attempt> => {
        await acquire();
        try {
          return await once(deviceToken, topic);
        } finally {
          release();
        }
      };
      if (closed) return { status: 0, reason: 'client closed' };
      let r = await attempt();
      if (r.status === 403 && r.reason === 'ExpiredProviderToken' && !closed) {
        token.renew();
        r = await attempt();
      }
      return { status: r.status, reason: r.reason, apnsId: r.apnsId, timestamp: r.timestamp, retryAfterMs: r.retryAfterMs };
    },
    async close() {
      closed = true;
      const s = session;
      session = null;
      if (!s || s.closed) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          s.destroy();
          resolve();
        }, 2000);
        s.close(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
