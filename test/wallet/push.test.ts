import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApnsKey } from '../../core/wallet/wallet-signer.js';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { createApnsClient } from '../../workers/wallet/apns.client.js';
import { PASS_UPDATE_ATTEMPTS, PUSH_BACKOFF, PushesPending, WALLET_UPDATES_QUEUE, passUpdateBackoff, passUpdateJobOptions } from '../../workers/wallet/pass-update.job.js';
import { serverUrls } from '../helpers/env.js';
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

async function registeredCard(): Promise<{ number: string; token: string; apnsToken: string }> {
  const card = await f.cardWithPass();
  await f.settle();
  const apnsToken = pushToken();
  expect(await f.register(`dev${randomBytes(6).toString('hex')}`, card.number, card.token, apnsToken)).toBe(201);
  return { ...card, apnsToken };
}

function client(extra: { concurrency?: number; now?: () => number } = {}) {
  return createApnsClient({ host: f.apns.url, ca: f.apns.ca, key: loadApnsKey({ key: f.certs.files.apnsKey }), keyId: f.certs.files.apnsKeyId, teamId: f.certs.signer.teamId, ...extra });
}

describe('wallet pushes', () => {
  it('ten quick accruals give one push, and the pass then shows the final balance', async () => {
    const { number, token, apnsToken } = await registeredCard();
    for (let i = 0; i < 10; i++) await f.purchase(number, 10_000);
    // All ten landed within the debounce: nothing was pushed yet.
    expect(f.apns.pushes.filter((p) => p.token === apnsToken)).toHaveLength(0);
    await f.apns.waitForPushes(1, (p) => p.token === apnsToken && p.status === 200);
    // Until no wallet job waits, is delayed or runs (a bounded poll): no second push comes.
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
    await expect.poll(async () => (await f.wallet.registry.forSerial(number)).length, { timeout: 5000 }).toBe(0);
  });

  it('429 and 5xx are retried by the job (the one retry layer) with backoff until delivered', async () => {
    const { number, apnsToken } = await registeredCard();
    f.apns.failNext(2, 429, 'TooManyRequests', apnsToken);
    f.apns.failNext(1, 503, 'ServiceUnavailable', apnsToken);
    const runs: string[] = [];
    const connection = new Redis(serverUrls().redisUrl, { maxRetriesPerRequest: null });
    const events = new QueueEvents(WALLET_UPDATES_QUEUE, { connection, prefix: f.queues.prefix });
    await events.waitUntilReady();
    events.on('active', ({ jobId }) => runs.push(jobId));
    try {
      await f.purchase(number, 10_000);
      await f.apns.waitForPushes(1, (p) => p.token === apnsToken && p.status === 200);
    } finally {
      await events.close();
      connection.disconnect();
    }
    const tries = f.apns.pushes.filter((p) => p.token === apnsToken);
    expect(tries.map((p) => p.status)).toEqual([429, 429, 503, 200]);
    // Each refusal failed one attempt of the one pass-update job, which BullMQ ran again after its backoff.
    expect(runs).toHaveLength(4);
    expect(new Set(runs).size).toBe(1);
    expect(passUpdateJobOptions(number, 0)).toMatchObject({ attempts: PASS_UPDATE_ATTEMPTS, backoff: { type: PUSH_BACKOFF } });
    // The device is marked pushed right after APNs' 200.
    await f.settle();
    expect((await f.wallet.registry.forSerial(number))[0]?.pushedHash).not.toBeNull();
  });

  it('the job backoff doubles from its base with jitter, and never comes sooner than APNs asks', () => {
    const backoff = passUpdateBackoff(1000);
    for (const [made, low, high] of [[1, 500, 1000], [2, 1000, 2000], [3, 2000, 4000]] as const) {
      const d = backoff(made, PUSH_BACKOFF);
      expect(d).toBeGreaterThanOrEqual(low);
      expect(d).toBeLessThanOrEqual(high);
    }
    expect(backoff(1, PUSH_BACKOFF, new PushesPending(1, 9000, '7012'))).toBeGreaterThanOrEqual(9000);
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
