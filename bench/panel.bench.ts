/**
 * Page render times of the web panel over a seeded base: BENCH_PANEL_MEMBERS members (default
 * 20,000; the issue asks for 100,000: BENCH_PANEL_MEMBERS=100000) written straight into the
 * collections (bench/panel.seed.ts), the audience pass run once, then each main page fetched BENCH_PANEL_ROUNDS times
 * (default 15) as a signed-in owner through the real app (fastify inject: no network), p50/p95.
 */
import { randomBytes } from 'node:crypto';
import { buildApp } from '../api/app.js';
import { createI18n } from '../core/i18n/i18n.js';
import { createLogger } from '../infra/logger.js';
import { benchCore, percentile } from './bench.servers.js';
import { seedBase } from './panel.seed.js';
import { createMemberRecentRepository } from '../core/members/member-recent.repository.js';

const MEMBERS = Number(process.env.BENCH_PANEL_MEMBERS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_PANEL_ROUNDS ?? 15);
const PASSWORD = 'bench password 123';

const b = await benchCore();
try {
  console.log(`panel bench on ${b.mongo.source}: ${MEMBERS} members, ${ROUNDS} rounds per page`);
  const t0 = performance.now();
  await seedBase(b.conn, MEMBERS, createMemberRecentRepository(b.conn, { enabled: b.mongo.source === 'ferretdb' }));
  console.log(`seeded ${MEMBERS} members in ${((performance.now() - t0) / 1000).toFixed(1)} s; audience pass…`);
  const t1 = performance.now();
  await b.core.insight.segments.rebuild();
  console.log(`audience pass ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  // What the worker does every 5 minutes (workers/insight): the pages then read these figures.
  const t2 = performance.now();
  await b.core.insight.daily.rollup();
  const t3 = performance.now();
  await b.core.insight.counts.recount();
  // The API role builds the name index at start (api/api.role.ts): the pages are measured after it.
  const t4 = performance.now();
  await b.core.directory.warmUp();
  console.log(`name index built in ${((performance.now() - t4) / 1000).toFixed(1)} s`);
  console.log(`background refresh: roll-up ${((t3 - t2) / 1000).toFixed(1)} s, member counts ${((performance.now() - t3) / 1000).toFixed(1)} s`);

  await b.core.users.create({ email: 'owner@bench.test', password: PASSWORD, role: 'owner' });
  const app = await buildApp({
    logger: createLogger('error'),
    health: { checks: {} },
    core: b.core,
    adminToken: randomBytes(24).toString('base64url'),
    panel: { i18n: await createI18n(), config: { idleMs: 3_600_000, maxMs: 3_600_000, secureCookie: false } },
  });
  const cookies: Record<string, string> = {};
  const login = await app.inject({ method: 'GET', url: '/admin/login' });
  for (const c of login.cookies) cookies[c.name] = c.value;
  const token = /name="_csrf" value="([^"]+)"/.exec(login.body)?.[1] ?? '';
  const signed = await app.inject({ method: 'POST', url: '/admin/login', cookies, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: token, email: 'owner@bench.test', password: PASSWORD }).toString() });
  for (const c of signed.cookies) cookies[c.name] = c.value;
  if (signed.statusCode !== 303) throw new Error(`sign-in failed: ${signed.statusCode}`);

  const someone = (await b.core.directory.search('', { limit: 1 })).items[0];
  const segment = await b.core.insight.segments.create({ name: 'Bench', rules: { op: 'and', rules: [{ field: 'purchases', op: 'gte', value: 3 }] } });
  const pages = [
    '/admin',
    '/admin/members',
    `/admin/members?q=${encodeURIComponent('+7 900 000 12 34')}`,
    `/admin/members?q=${encodeURIComponent(someone?.cardNumber ?? '')}`,
    `/admin/members?q=${encodeURIComponent('Клиент 1234')}`,
    `/admin/members/${someone?.id ?? ''}`,
    `/admin/members?segment=${segment.id}`,
    '/admin/segments',
    '/admin/reports',
    '/admin/contests',
    '/admin/settings',
    '/admin/stores',
    '/admin/users',
    '/admin/audit',
    '/admin/wallet',
  ];
  console.log(`\n${'page'.padEnd(44)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)}`);
  for (const url of pages) {
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      const res = await app.inject({ method: 'GET', url, cookies });
      times.push(performance.now() - t);
      if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}`);
    }
    times.sort((x, y) => x - y);
    console.log(`${url.slice(0, 44).padEnd(44)} ${percentile(times, 50).toFixed(1).padStart(8)} ${percentile(times, 95).toFixed(1).padStart(8)}`);
  }
  await app.close();
} finally {
  await b.close();
}
