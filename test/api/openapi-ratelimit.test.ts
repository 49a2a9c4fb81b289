import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from '../../infra/redis.js';
import { startTestApi, type TestApi } from '../helpers/api.js';
import { testRedis, uniqueName } from '../helpers/env.js';

describe('OpenAPI document and docs', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi();
  });
  afterAll(async () => {
    await t.close();
  });

  it('is generated from the route schemas, with every path, both security schemes and amounts in kopecks', async () => {
    const res = await t.call('GET', '/api/v1/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    const paths = doc.paths;
    const expected: [string, string][] = [
      ['post', '/api/v1/admin/stores'],
      ['get', '/api/v1/admin/stores'],
      ['post', '/api/v1/admin/members'],
      ['post', '/api/v1/members'],
      ['get', '/api/v1/cards/{number}'],
      ['get', '/api/v1/cards'],
      ['get', '/api/v1/cards/{number}/history'],
      ['post', '/api/v1/purchases/quote'],
      ['post', '/api/v1/purchases'],
      ['post', '/api/v1/refunds'],
      ['get', '/api/v1/admin/settings'],
      ['patch', '/api/v1/admin/settings'],
      ['post', '/api/v1/admin/cards/{number}/block'],
      ['post', '/api/v1/admin/cards/{number}/unblock'],
      ['put', '/api/v1/admin/cards/{number}/level'],
      ['post', '/api/v1/admin/cards/import'],
      ['post', '/api/v1/admin/cards/{number}/adjust'],
    ];
    for (const [method, path] of expected) expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['adminToken', 'storeKey']);
    expect(paths['/api/v1/purchases'].post.security).toEqual([{ storeKey: [] }]);
    expect(paths['/api/v1/admin/settings'].patch.security).toEqual([{ adminToken: [] }]);

    const purchase = paths['/api/v1/purchases'].post;
    const body = purchase.requestBody.content['application/json'].schema;
    expect(body.properties.total).toMatchObject({ type: 'integer', minimum: 0 });
    expect(body.properties.total.description).toMatch(/kopecks/);
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(purchase.responses).sort()).toEqual(['200', '201', '400', '401', '404', '409', '410', '422', '423']);
    expect(purchase.responses['409'].description).toMatch(/idempotency_conflict/);
    expect(paths['/api/v1/refunds'].post.requestBody.content['application/json'].schema.properties.amount.description).toMatch(/kopecks/);
    expect(paths['/api/v1/cards/{number}'].get.responses['429'].description).toMatch(/rate_limited/);
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/swagger/i);
  });
});

describe('look-up rate limit', () => {
  let redis: Redis;
  const nameSpace = `${uniqueName('rl')}:`;
  let t: TestApi;
  let keys: string[];
  let card: string;

  beforeAll(async () => {
    redis = await testRedis();
    t = await startTestApi({ redis, lookupRateLimit: { max: 3, timeWindowMs: 60_000, nameSpace } });
    keys = [];
    for (const name of ['A', 'B']) keys.push((await t.call('POST', '/api/v1/admin/stores', { token: t.adminToken, body: { name } })).json().key);
    // Enrolled by the admin, so no store's budget is used yet.
    card = (await t.call('POST', '/api/v1/admin/members', { token: t.adminToken, body: { phone: '+79161112233', name: 'R', consent: true } })).json().cardNumber;
  });
  afterAll(async () => {
    await t.close();
    redis.disconnect();
  });

  it('allows max look-ups per store key and window in Redis, then 429 rate_limited; other keys and operations are not affected', async () => {
    const [a, b] = keys as [string, string];
    const urls = [`/api/v1/cards/${card}`, `/api/v1/cards?phone=%2B79161112233`, `/api/v1/cards/${card}/history`];
    for (const url of urls) expect((await t.call('GET', url, { token: a })).statusCode).toBe(200);
    const limited = await t.call('GET', `/api/v1/cards/${card}`, { token: a });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await t.call('GET', `/api/v1/cards/${card}/history`, { token: a })).statusCode).toBe(429);

    // Quotes and enrolments tell what a card or phone holds too: they share the budget.
    const quote = await t.call('POST', '/api/v1/purchases/quote', { token: a, body: { phone: '+79161112233', total: 100 } });
    expect(quote.statusCode).toBe(429);
    expect(quote.json().error.code).toBe('rate_limited');
    const enrol = await t.call('POST', '/api/v1/members', { token: a, body: { phone: '+79161112233', name: 'R', consent: true } });
    expect(enrol.statusCode).toBe(429);
    // Another store's key has its own budget; purchases are not look-ups.
    expect((await t.call('GET', `/api/v1/cards/${card}`, { token: b })).statusCode).toBe(200);
    expect((await t.call('POST', '/api/v1/purchases/quote', { token: b, body: { cardNumber: card, total: 100 } })).statusCode).toBe(200);
    expect((await t.call('POST', '/api/v1/purchases', { token: a, body: { receiptId: 'rl-1', cardNumber: card, total: 100 } })).statusCode).toBe(201);
    // A wrong key is refused before it can use anyone's budget.
    expect((await t.call('GET', `/api/v1/cards/${card}`, { token: 'sk_wrong' })).statusCode).toBe(401);

    // The counters live in Redis, named by the key's hash, never the key itself.
    const stored = await redis.keys(`${nameSpace}*`);
    expect(stored.length).toBeGreaterThanOrEqual(2);
    for (const k of stored) {
      expect(k).not.toContain(a);
      expect(k).not.toContain(b);
    }
  });
});

describe('look-up rate limit without Redis', () => {
  let t: TestApi;
  afterAll(async () => {
    await t.close();
  });

  it('is counted in memory per store key', async () => {
    t = await startTestApi({ lookupRateLimit: { max: 2, timeWindowMs: 60_000 } });
    const key = (await t.call('POST', '/api/v1/admin/stores', { token: t.adminToken, body: { name: 'M' } })).json().key;
    const url = '/api/v1/cards?phone=%2B79160000001';
    expect((await t.call('GET', url, { token: key })).statusCode).toBe(404);
    expect((await t.call('GET', url, { token: key })).statusCode).toBe(404);
    const limited = await t.call('GET', url, { token: key });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');
  });
});
