import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { WALLET_SWEEP_QUEUE } from '../../workers/wallet/wallet.worker.js';
import { serverUrls } from '../helpers/env.js';
import { discPng } from './png.js';
import { readZip } from './zip.js';
import { PUBLIC_URL, startWalletFixture, type WalletFixture } from './wallet.fixture.js';

let f: WalletFixture;
const PUSH_RATE = 2;
beforeAll(async () => {
  f = await startWalletFixture({ debounceMs: 200, pushRate: PUSH_RATE });
});
afterAll(async () => {
  await f.close();
});

const admin = (): Record<string, string> => ({ authorization: `Bearer ${f.adminToken}` });
const passJsonOf = (pkpass: Buffer) => JSON.parse(readZip(pkpass)['pass.json']!.toString());

async function registered(): Promise<{ number: string; token: string; apnsToken: string }> {
  const card = await f.cardWithPass();
  const apnsToken = randomBytes(32).toString('hex');
  expect(await f.register(`dev${randomBytes(6).toString('hex')}`, card.number, card.token, apnsToken)).toBe(201);
  return { ...card, apnsToken };
}

async function fetchPass(c: { number: string; token: string }) {
  const r = await f.call('GET', `/passkit/v1/passes/${f.certs.signer.passTypeId}/${c.number}`, { headers: { authorization: `ApplePass ${c.token}` } });
  expect(r.statusCode).toBe(200);
  return readZip(r.rawPayload);
}

describe('distribution links', () => {
  it('the admin API gives a signed link that downloads the pass; forged links are 404', async () => {
    const { number } = await f.cardWithPass();
    expect((await f.call('GET', `/api/v1/admin/cards/${number}/wallet-link`)).statusCode).toBe(401);
    const r = await f.call('GET', `/api/v1/admin/cards/${number}/wallet-link`, { headers: admin() });
    expect(r.statusCode).toBe(200);
    const url = r.json().url as string;
    expect(url).toMatch(new RegExp(`^${PUBLIC_URL}/wallet/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{22}\\.pkpass$`));
    const ok = await f.call('GET', new URL(url).pathname);
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toBe('application/vnd.apple.pkpass');
    expect(passJsonOf(ok.rawPayload).serialNumber).toBe(number);

    const [payload, mac] = new URL(url).pathname.slice('/wallet/'.length, -'.pkpass'.length).split('.') as [string, string];
    const other = await f.cardWithPass();
    const forged = [
      `${Buffer.from(other.number).toString('base64url')}.${mac}`, // another card with this card's MAC
      `${payload}.${'A'.repeat(22)}`,
      `${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
      number,
      payload,
    ];
    for (const token of forged) {
      const res = await f.call('GET', `/wallet/${token}.pkpass`);
      expect(res.statusCode, token).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
    expect((await f.call('GET', `/wallet/${payload}.${mac}.zip`)).statusCode).toBe(404);
  });

  it('a blocked card has no pass to download', async () => {
    const { number } = await f.cardWithPass();
    await f.core.cards.setStatus(number, 'blocked');
    expect((await f.call('GET', new URL(f.wallet.linkFor(number)).pathname)).statusCode).toBe(404);
  });
});

describe('offers mirrored on passes', () => {
  it('an offer for a level reaches its passes: a push, then the text on the back with a change message, until the next one', async () => {
    const a = await registered();
    const b = await registered();
    await f.settle();
    const pushedBefore = f.apns.delivered(a.apnsToken).length;
    const r = await f.call('POST', '/api/v1/admin/wallet/offers', { headers: admin(), body: { text: 'Кофе −20% до воскресенья', target: { kind: 'level', levelId: 'base' } } });
    expect(r.statusCode).toBe(200);
    expect(r.json().passes).toBeGreaterThanOrEqual(2);
    await f.apns.waitForPushes(pushedBefore + 1, (p) => p.token === a.apnsToken && p.status === 200, 20_000);
    const offer = passJsonOf((await f.wallet.passFile(a.number)).bytes).storeCard.backFields[0];
    expect(offer).toMatchObject({ key: 'offer', value: 'Кофе −20% до воскресенья', changeMessage: '%@' });

    // The next offer, for one card only, replaces it there and leaves the other pass as it was.
    // (b's push for the level offer may be merged into this one: the sweep is rate-bounded.)
    const bBefore = f.apns.delivered(b.apnsToken).length;
    await f.wallet.setOffer({ kind: 'card', number: b.number }, 'Двойные баллы сегодня');
    await f.apns.waitForPushes(bBefore + 1, (p) => p.token === b.apnsToken && p.status === 200, 20_000);
    await expect.poll(async () => JSON.parse((await fetchPass(b))['pass.json']!.toString()).storeCard.backFields[0].value, { timeout: 10_000 }).toBe('Двойные баллы сегодня');
    expect(passJsonOf((await f.wallet.passFile(a.number)).bytes).storeCard.backFields[0].value).toBe('Кофе −20% до воскресенья');
  });

  it('refuses an empty offer and reports unreadable card numbers', async () => {
    expect((await f.call('POST', '/api/v1/admin/wallet/offers', { headers: admin(), body: { text: ' ', target: { kind: 'all' } } })).statusCode).toBe(400);
    const r = await f.wallet.setOffer({ kind: 'cards', numbers: ['12', 'not a card'] }, 'x');
    expect(r.invalid).toEqual(['12', 'not a card']);
  });
});

describe('levels', () => {
  it("a level change gives the pass its level's look and name, by event or by touch", async () => {
    const c = await registered();
    await f.settle();
    await f.purchase(c.number, 500_000);
    await f.apns.waitForPushes(1, (p) => p.token === c.apnsToken && p.status === 200, 20_000);
    let files = await fetchPass(c);
    expect(JSON.parse(files['pass.json']!.toString()).backgroundColor).toBe('rgb(97, 97, 97)');
    expect(files['ru.lproj/pass.strings']!.toString()).toContain('"level_name" = "Серебряный";');
    expect(files['ru.lproj/pass.strings']!.toString()).toContain('"logo_text" = "Серебряная карта";');

    // A level set by hand is a ledger entry of its own: its level.changed event updates the pass.
    await f.core.ledger.setLevel({ card: c.number, levelId: 'staff', author: 'test' });
    await f.apns.waitForPushes(2, (p) => p.token === c.apnsToken && p.status === 200, 20_000);
    files = await fetchPass(c);
    expect(JSON.parse(files['pass.json']!.toString()).backgroundColor).toBe('rgb(0, 77, 64)');
  });
});

describe('re-skin', () => {
  it('a template change updates every pass drawn from it and notifies every holder, at the bounded rate', async () => {
    const holders = await Promise.all(Array.from({ length: 5 }, () => registered()));
    await f.settle();
    const since = Date.now();
    // What each sweep of dirty passes took: the rate bound is "at most perSweep a sweep".
    const swept: number[] = [];
    const connection = new Redis(serverUrls().redisUrl, { maxRetriesPerRequest: null });
    const sweeps = new QueueEvents(WALLET_SWEEP_QUEUE, { connection, prefix: f.queues.prefix });
    await sweeps.waitUntilReady();
    sweeps.on('completed', ({ returnvalue }) => {
      const r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as { swept: number };
      if (r.swept > 0) swept.push(r.swept);
    });
    const logo = discPng(60, [255, 0, 0, 255]).toString('base64');
    const r = await f.call('PUT', '/api/v1/admin/wallet/templates/base', {
      headers: admin(),
      body: { backgroundColor: 'rgb(200, 0, 0)', logoPng: logo, labels: { ru: { balance_label: 'Бонусы' }, en: { balance_label: 'Bonus' } } },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ id: 'base', version: 1 });
    expect(r.json().passes).toBeGreaterThanOrEqual(5);
    const pushes = await f.apns.waitForPushes(
      holders.length,
      (p) => p.status === 200 && p.at >= since && holders.some((h) => h.apnsToken === p.token),
      30_000,
    );
    await sweeps.close();
    connection.disconnect();
    expect(pushes).toHaveLength(holders.length);
    // 2 passes a second, swept every 200 ms at the least: one pass a sweep, so the five took five sweeps or more.
    expect(Math.max(...swept)).toBe(1);
    expect(swept.length).toBeGreaterThanOrEqual(holders.length);
    const files = await fetchPass(holders[0]!);
    expect(JSON.parse(files['pass.json']!.toString()).backgroundColor).toBe('rgb(200, 0, 0)');
    expect(files['logo.png']!.equals(Buffer.from(logo, 'base64'))).toBe(true);
    expect(files['ru.lproj/pass.strings']!.toString()).toContain('"balance_label" = "Бонусы";');

    expect((await f.call('PUT', '/api/v1/admin/wallet/templates/nosuchlevel', { headers: admin(), body: {} })).statusCode).toBe(400);
    // A real image check with its size: not a PNG, or larger than Wallet's logo strip (320 × 100 at @2x).
    const notPng = await f.call('PUT', '/api/v1/admin/wallet/templates/base', { headers: admin(), body: { logoPng: Buffer.from('GIF89a not a png').toString('base64') } });
    expect(notPng.statusCode).toBe(400);
    expect(notPng.json().error.message).toMatch(/must be a PNG/);
    const tooBig = await f.call('PUT', '/api/v1/admin/wallet/templates/base', { headers: admin(), body: { logoPng: discPng(120, [0, 0, 255, 255]).toString('base64') } });
    expect(tooBig.statusCode).toBe(400);
    expect(tooBig.json().error.message).toMatch(/120 × 120 pixels; Wallet shows at most 320 × 100/);
    expect((await f.call('PUT', '/api/v1/admin/wallet/templates/base', { headers: admin(), body: { locations: Array.from({ length: 11 }, () => ({ latitude: 1, longitude: 1 })) } })).statusCode).toBe(400);
  });
});
