/**
 * A wire-level fake of APNs (the HTTP/2 provider API), for tests and benchmarks.
 *
 *   const apns = await startFakeApns({ topic: 'pass.x', keyId: 'ABC123DEFG', teamId: 'TEAM000001', publicKey });
 *   const client = createApnsClient({ host: apns.url, ca: apns.ca, key, keyId, teamId });
 *
 * It listens with TLS on 127.0.0.1 (a throw-away self-signed certificate made with openssl;
 * `ca` is that certificate, for the client's `ca` option) and speaks HTTP/2 only, as APNs.
 *
 * What it checks like APNs does, answering 4xx `{"reason": …}`:
 * - `POST /3/device/<token>`, the token 64 hex characters (BadPath / 405 MethodNotAllowed /
 *   BadDeviceToken);
 * - `apns-topic` present and equal to the pass type id (MissingTopic / TopicDisallowed);
 * - `authorization: bearer <JWT>` signed ES256 with the public key of the configured .p8
 *   key, header kid = key id, claim iss = team id, iat not older than an hour nor in the
 *   future (MissingProviderToken / InvalidProviderToken / ExpiredProviderToken);
 * - the payload: a Wallet pass update is exactly `{}` (PayloadEmpty when empty, else BadPayload,
 *   the latter stricter than APNs, on purpose).
 * Then: 410 Unregistered for tokens marked `unregister(token)` (with a timestamp), 429 or
 * 5xx for the next pushes queued with `failNext`, 200 with an `apns-id` otherwise.
 */
import { execFile } from 'node:child_process';
import { randomUUID, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface FakePush {
  token: string;
  topic: string | undefined;
  body: string;
  status: number;
  reason?: string;
  jwt?: { header: Record<string, unknown>; claims: Record<string, unknown> };
  /** Which TLS connection it came on (1, 2 …). */
  session: number;
  at: number;
}

export interface FakeApns {
  url: string;
  /** The fake's certificate (PEM): give it to the client as its trusted CA. */
  ca: string;
  /** Every push, accepted or refused, in arrival order. */
  pushes: FakePush[];
  /** Pushes answered 200. */
  delivered(token?: string): FakePush[];
  /** TLS connections opened by clients. */
  readonly sessions: number;
  /** Most pushes being answered at once (see `delayMs`). */
  readonly maxInFlight: number;
  /** Answer each push after this long (0: at once), to see how many a client keeps in flight. */
  delayMs: number;
  unregister(token: string, at?: number): void;
  /** The next `times` pushes (to `token`, or any) answer `status` with `reason`. */
  failNext(times: number, status: number, reason: string, token?: string): void;
  waitForPushes(n: number, pred?: (p: FakePush) => boolean, timeoutMs?: number): Promise<FakePush[]>;
  close(): Promise<void>;
}

export interface FakeApnsOptions {
  topic: string;
  keyId: string;
  teamId: string;
  /** Public half of the .p8 key the client signs with. */
  publicKey: KeyObject;
}

const run = promisify(execFile);

async function selfSigned(): Promise<{ key: string; cert: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-apns-'));
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc', '-keyout', 'k.pem', '-out', 'c.pem',
      '-days', '2', '-subj', '/CN=fake APNs (tests only)', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { cwd: dir });
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseJwt(raw: string, opts: FakeApnsOptions, nowSec: number): { ok: true; header: Record<string, unknown>; claims: Record<string, unknown> } | { ok: false; reason: string } {
  const parts = raw.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'InvalidProviderToken' };
  const [h, c, s] = parts as [string, string, string];
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'InvalidProviderToken' };
  }
  const good = verify('sha256', Buffer.from(`${h}.${c}`), { key: opts.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
  if (!good || header.alg !== 'ES256' || header.kid !== opts.keyId || claims.iss !== opts.teamId || typeof claims.iat !== 'number') {
    return { ok: false, reason: 'InvalidProviderToken' };
  }
  if (claims.iat > nowSec + 60) return { ok: false, reason: 'InvalidProviderToken' };
  if (nowSec - claims.iat > 3600) return { ok: false, reason: 'ExpiredProviderToken' };
  return { ok: true, header, claims };
}

export async function startFakeApns(opts: FakeApnsOptions): Promise<FakeApns> {
  const tls = await selfSigned();
  const pushes: FakePush[] = [];
  const gone = new Map<string, number>();
  const failures: { times: number; status: number; reason: string; token?: string | undefined }[] = [];
  const waiters = new Set<() => void>();
  let sessions = 0;
  const server: Http2SecureServer = createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: false });
  const sessionIds = new WeakMap<object, number>();
  const open = new Set<{ destroy(): void }>();
  server.on('session', (s) => {
    sessionIds.set(s, ++sessions);
    open.add(s);
    s.on('close', () => open.delete(s));
  });

  function answer(stream: ServerHttp2Stream, push: FakePush, status: number, body?: Record<string, unknown>): void {
    push.status = status;
    if (body && typeof body.reason === 'string') push.reason = body.reason;
    pushes.push(push);
    for (const w of waiters) w();
    if (stream.destroyed) return;
    stream.respond({ ':status': status, 'apns-id': randomUUID(), ...(body ? { 'content-type': 'application/json' } : {}) });
    stream.end(body ? JSON.stringify(body) : undefined);
  }

  function handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: string): void {
    const path = headers[':path'] ?? '';
    const token = /^\/3\/device\/([^/?]+)$/.exec(path)?.[1] ?? '';
    const topic = typeof headers['apns-topic'] === 'string' ? headers['apns-topic'] : undefined;
    const push: FakePush = { token, topic, body, status: 0, session: sessionIds.get(stream.session ?? {}) ?? 0, at: Date.now() };
    if (headers[':method'] !== 'POST') return answer(stream, push, 405, { reason: 'MethodNotAllowed' });
    if (!token) return answer(stream, push, 404, { reason: 'BadPath' });
    const auth = /^bearer (.+)$/.exec(headers.authorization ?? '');
    if (!auth?.[1]) return answer(stream, push, 403, { reason: 'MissingProviderToken' });
    const jwt = parseJwt(auth[1], opts, Math.floor(Date.now() / 1000));
    if (!jwt.ok) return answer(stream, push, 403, { reason: jwt.reason });
    push.jwt = { header: jwt.header, claims: jwt.claims };
    if (!topic) return answer(stream, push, 400, { reason: 'MissingTopic' });
    if (topic !== opts.topic) return answer(stream, push, 400, { reason: 'TopicDisallowed' });
    if (!/^[0-9a-f]{64}$/i.test(token)) return answer(stream, push, 400, { reason: 'BadDeviceToken' });
    if (body.length === 0) return answer(stream, push, 400, { reason: 'PayloadEmpty' });
    if (body !== '{}') return answer(stream, push, 400, { reason: 'BadPayload' });
    const goneAt = gone.get(token);
    if (goneAt !== undefined) return answer(stream, push, 410, { reason: 'Unregistered', timestamp: goneAt });
    const f = failures.find((x) => x.times > 0 && (!x.token || x.token === token));
    if (f) {
      f.times--;
      return answer(stream, push, f.status, { reason: f.reason });
    }
    answer(stream, push, 200);
  }

  let inFlight = 0;
  let maxInFlight = 0;
  const state = { delayMs: 0 };
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const reply = (): void => {
        inFlight--;
        handle(stream, headers, Buffer.concat(chunks).toString('utf8'));
      };
      if (state.delayMs > 0) setTimeout(reply, state.delayMs);
      else reply();
    });
    stream.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    ca: tls.cert,
    pushes,
    delivered: (token) => pushes.filter((p) => p.status === 200 && (!token || p.token === token)),
    get sessions() {
      return sessions;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    unregister(token, at = Date.now()) {
      gone.set(token, at);
    },
    failNext(times, status, reason, token) {
      failures.push({ times, status, reason, token });
    },
    async waitForPushes(n, pred = (p) => p.status === 200, timeoutMs = 10_000) {
      const matching = (): FakePush[] => pushes.filter(pred);
      if (matching().length >= n) return matching();
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (matching().length >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(matching());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake APNs: ${matching().length} of ${n} pushes after ${timeoutMs} ms; all: ${JSON.stringify(pushes.map((p) => [p.token.slice(0, 8), p.status, p.reason]))}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    async close() {
      // Clients keep their HTTP/2 session open (as with APNs): end them, or close() waits for them.
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
