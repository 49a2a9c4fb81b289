import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { inject } from 'vitest';
import { buildApp } from '../../api/app.js';
import type { PanelConfig } from '../../core/config.js';
import { createCore, type Core } from '../../core/core.js';
import { createI18n } from '../../core/i18n/i18n.js';
import type { StaffRole } from '../../core/users/user.roles.js';
import { createLogger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis.js';
import { fixedClock } from '../helpers/clock.js';
import { TEST_PHONE_SECRET, testMongo, testRedis, uniqueName } from '../helpers/env.js';

export const PASSWORD = 'correct horse battery';

export interface PanelApp {
  app: FastifyInstance;
  core: Core;
  adminToken: string;
  clock: ReturnType<typeof fixedClock>;
  redis: Redis;
  /** Creates a user (for a cashier, with a new store). */
  user(role: StaffRole, email?: string): Promise<{ email: string; id: string }>;
  close(): Promise<void>;
}

/** The whole app with the panel, on this file's own database and Redis prefix; a hand-set clock for sessions. */
export async function startPanelApp(opts: { panel?: Partial<PanelConfig>; realClock?: boolean } = {}): Promise<PanelApp> {
  const conn = await testMongo();
  const clock = fixedClock(new Date());
  const config: PanelConfig = { idleMs: 30 * 60_000, maxMs: 12 * 3_600_000, secureCookie: 'auto', ...opts.panel };
  const core = createCore({
    conn,
    ...(opts.realClock ? {} : { clock }),
    guardedCardWrites: inject('mongoSource') !== 'ferretdb',
    phoneHashSecret: TEST_PHONE_SECRET,
    panelSessions: { idleMs: config.idleMs, maxMs: config.maxMs },
  });
  await core.init();
  const redis = await testRedis();
  const adminToken = randomBytes(24).toString('base64url');
  const app = await buildApp({
    logger: createLogger('silent'),
    health: { checks: {} },
    core,
    adminToken,
    redis,
    lookupRateLimit: { max: 10_000, timeWindowMs: 60_000, nameSpace: `${uniqueName('rl')}:` },
    panel: { i18n: await createI18n(), config, redisPrefix: `${uniqueName('panel')}:` },
  });
  let n = 0;
  return {
    app,
    core,
    adminToken,
    clock,
    redis,
    async user(role, email) {
      n += 1;
      const storeId = role === 'cashier' ? (await core.admin.createStore(`Store ${n}`)).id : undefined;
      const u = await core.users.create({ email: email ?? `${role}${n}@shop.test`, password: PASSWORD, role, storeId });
      return { email: u.email, id: u.id };
    },
    async close() {
      core.close();
      await app.close();
      redis.disconnect();
      await conn.dropDatabase();
      await conn.close();
    },
  };
}

/** A browser-like client over app.inject: keeps cookies, finds the CSRF token in pages. */
export function client(app: FastifyInstance, base: Partial<InjectOptions> = {}) {
  const jar = new Map<string, string>();
  let csrf = '';
  async function send(opts: InjectOptions): Promise<LightMyRequestResponse> {
    const res = await app.inject({ ...base, ...opts, cookies: { ...Object.fromEntries(jar), ...(opts.cookies as Record<string, string> | undefined) } });
    for (const c of res.cookies) {
      if (c.value === '' || (c.maxAge !== undefined && c.maxAge <= 0) || (c.expires && c.expires.getTime() < Date.now())) jar.delete(c.name);
      else jar.set(c.name, c.value);
    }
    const m = /name="_csrf" value="([^"]+)"/.exec(res.body);
    if (m?.[1] && res.headers['content-type']?.toString().startsWith('text/html')) csrf = m[1];
    return res;
  }
  return {
    jar,
    get csrf() {
      return csrf;
    },
    get: (url: string, headers: Record<string, string> = {}) => send({ method: 'GET', url, headers }),
    /** A form post; the page's CSRF token is added unless `_csrf` is given (null: none). */
    post(url: string, form: Record<string, string | null> = {}, headers: Record<string, string> = {}) {
      const body = new URLSearchParams();
      const withToken = { _csrf: csrf, ...form };
      for (const [k, v] of Object.entries(withToken)) if (v !== null) body.set(k, v);
      return send({ method: 'POST', url, payload: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
    },
    json: (method: InjectOptions['method'], url: string, payload: unknown, headers: Record<string, string> = {}) =>
      send({ method, url, payload: payload as Record<string, unknown>, headers }),
    async login(email: string, password = PASSWORD): Promise<LightMyRequestResponse> {
      await send({ method: 'GET', url: '/admin/login' });
      return this.post('/admin/login', { email, password });
    },
  };
}
