import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApnsKey } from '../../core/wallet/wallet-signer.js';
import { createApnsClient } from '../../workers/wallet/apns.client.js';
import { readZip } from './zip.js';
import { startWalletFixture, type WalletFixture } from './wallet.fixture.js';

let f: WalletFixture;
// A debounce long enough for ten purchases in a row on a slow test database.
const DEBOUNCE_MS = 2500;
beforeAll(async () => {
  f = await startWalletFixture({
    debounceMs: DEBOUNCE_MS,
    messageFor: async (e) => (e.type === 'contest.won' ? `Вы выиграли розыгрыш «${String((e.data as { title?: unknown }).title)}»!` : null),
  });
});
afterAll(async () => {
  await f.close();
});

const pushToken = (): string => randomBytes(32).toString('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function registeredCard(): Promise<{ number: string; token: string; apnsToken: string }> {
  const card = await f.cardWithPass();
  await f.settle();
  const apnsToken = pushToken();
  expect(await f.register(`dev${randomBytes(6).toString('hex')}`, card.number, card.token, apnsToken)).toBe(201);
  return { ...card, apnsToken };
}

function client(extra: { concurrency?: number; now?: () => number } = {}) {
  return createApnsClient({ host: f.apns.url, ca: f.apns.ca, key: loadApnsKey({ key: f.certs.files.apnsKey }), keyId: f.certs.files.apnsKeyId, teamId: f.certs.signer.teamId, baseDelayMs: 20, ...extra });
}

describe('wallet pushes', () => {
  it('ten quick accruals give one push, and the pass then shows the final balance', async () => {
    const { number, token, apnsToken } = await registeredCard();
    const started = Date.now();
    for (let i = 0; i < 10; i++) await f.purchase(number, 10_000);
    expect(Date.now() - started).toBeLessThan(DEBOUNCE_MS);
    await f.apns.waitForPushes(1, (p) => p.token === apnsToken && p.status === 200);
    await sleep(DEBOUNCE_MS + 1000);
    await f.settle();
    expect(f.apns.pushes.filter((p) => p.token === apnsToken)).toHaveLength(1);
    const r = await f.call('GET', `/passkit/v1/passes/${f.certs.signer.passTypeId}/${number}`, { headers: { authorization: `ApplePass ${token}` } });
    expect(JSON.parse(readZip(r.rawPayload)['pass.json']!.toString()).storeCard.headerFields[0].value).toBe(1030);
  });

  it('a contest win is mirrored as the pass message: pushed, and kept on the back of the pass', async () => {
    const { number, token, apnsToken } = await registeredCard();
    const card = (await f.core.cards.byNumber(number))!;
    await f.core.outbox.add({
      id: `contest-won:test-${number}:1`,
      type: 'contest.won',
      at: new Date().toISOString(),
      card: number,
      memberId: card.memberId,
      data: { contestId: `test-${number}`, title: 'Гитара', place: 1, channel: 'telegram', account: 'telegram:1' },
    });
    await f.apns.waitForPushes(1, (p) => p.token === apnsToken && p.status === 200);
    await f.settle();
    const r = await f.call('GET', `/passkit/v1/passes/${f.certs.signer.passTypeId}/${number}`, { headers: { authorization: `ApplePass ${token}` } });
    const pass = JSON.parse(readZip(r.rawPayload)['pass.json']!.toString());
    const offer = (pass.storeCard.backFields as { key: string; value: string }[]).find((b) => b.key === 'offer');
    expect(offer?.value).toBe('Вы выиграли розыгрыш «Гитара»!');
  });

  it('410 Unregistered from APNs removes the registration', async () => {
    const { number, apnsToken } = await registeredCard();
    f.apns.unregister(apnsToken, Date.now());
    await f.purchase(number, 10_000);
    await f.apns.waitForPushes(1, (p) => p.token === apnsToken && p.status === 410);
    for (let i = 0; i < 50 && (await f.wallet.registry.forSerial(number)).length > 0; i++) await sleep(100);
    expect(await f.wallet.registry.forSerial(number)).toHaveLength(0);
  });

  it('429 and 5xx are retried with backoff until delivered', async () => {
    const { number, apnsToken } = await registeredCard();
    f.apns.failNext(2, 429, 'TooManyRequests', apnsToken);
    f.apns.failNext(1, 503, 'ServiceUnavailable', apnsToken);
    await f.purchase(number, 10_000);
    await f.apns.waitForPushes(1, (p) => p.token === apnsToken && p.status === 200);
    const tries = f.apns.pushes.filter((p) => p.token === apnsToken);
    expect(tries.map((p) => p.status)).toEqual([429, 429, 503, 200]);
    // Backoff: 20 ms base doubling, with jitter of at most half.
    expect(tries[3]!.at - tries[0]!.at).toBeGreaterThanOrEqual(10 + 20 + 40 - 5);
    // The device is marked pushed right after APNs' 200.
    await f.settle();
    expect((await f.wallet.registry.forSerial(number))[0]?.pushedHash).not.toBeNull();
  });

  it('keeps one HTTP/2 session and at most `concurrency` pushes in flight', async () => {
    const c = client({ concurrency: 5 });
    const sessionsBefore = f.apns.sessions;
    f.apns.delayMs = 30;
    try {
      const results = await Promise.all(Array.from({ length: 40 }, () => c.push(pushToken(), f.certs.signer.passTypeId)));
      expect(results.every((r) => r.status === 200)).toBe(true);
    } finally {
      f.apns.delayMs = 0;
    }
    expect(c.sessionsOpened).toBe(1);
    expect(f.apns.sessions - sessionsBefore).toBe(1);
    expect(f.apns.maxInFlight).toBeLessThanOrEqual(5);
    await c.close();
  });

  it('signs the provider token ES256, reuses it, and renews it before it expires or when APNs says so', async () => {
    let now = Date.now() - 55 * 60 * 1000;
    const c = client({ now: () => now });
    const t = pushToken();
    await c.push(t, f.certs.signer.passTypeId);
    now += 60 * 1000;
    await c.push(t, f.certs.signer.passTypeId);
    const [a, b] = f.apns.pushes.filter((p) => p.token === t);
    expect(a!.jwt?.claims.iat).toBe(b!.jwt?.claims.iat);
    now = Date.now();
    await c.push(t, f.certs.signer.passTypeId);
    f.apns.failNext(1, 403, 'ExpiredProviderToken', t);
    now = Date.now() + 1000;
    const last = await c.push(t, f.certs.signer.passTypeId);
    expect(last.status).toBe(200);
    const iats = f.apns.pushes.filter((p) => p.token === t).map((p) => p.jwt?.claims.iat as number);
    expect(iats[2]).toBeGreaterThan(iats[1]!);
    expect(iats[4]).toBeGreaterThanOrEqual(iats[3]!);
    expect(f.apns.pushes.filter((p) => p.token === t).map((p) => p.status)).toEqual([200, 200, 200, 403, 200]);
    await c.close();
  });

  it('the fake APNs refuses malformed device tokens and foreign topics, as APNs does', async () => {
    const c = client();
    const r = await c.push('not-hex', f.certs.signer.passTypeId);
    expect(r).toMatchObject({ status: 400, reason: 'BadDeviceToken' });
    const wrongTopic = await c.push(pushToken(), 'pass.other.topic');
    expect(wrongTopic).toMatchObject({ status: 400, reason: 'TopicDisallowed' });
    await c.close();
  });
});
