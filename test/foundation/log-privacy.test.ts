import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAIN_EVENTS_QUEUE, jobIdFor, type DomainEvent } from '../../core/events/event.types.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram.fake.js';
import { startFakeVk, type FakeVk } from '../fakes/vk.fake.js';
import { serverUrls, testMongo, uniqueName } from '../helpers/env.js';
import { exitWithin, listeningUrl, runMain, type MainRun } from '../helpers/process.js';

/**
 * The log of a real run (`node main.ts`, every role, LOG_LEVEL=trace) holds none of the phones,
 * names and one-time codes the run handled: a Telegram join whose welcome fails to send, till
 * look-ups by phone in the forms tills send them (and a 12 KB one), an enrolment and a purchase
 * by phone, a VK account typing the member's number, and the code's notice failing to reach
 * Telegram. Telegram and VK are the wire fakes; MongoDB and Redis the run's real servers.
 */

const GROUP_ID = 217_000_077;
const PHONE = '+79035550101';
const TILL_PHONE = '+79035550202';
const NAME = 'Ирина Логова';
const ADMIN_TOKEN = 'log-privacy-admin-token-0123456789';

let tg: FakeTelegram;
let vk: FakeVk;
let run: MainRun;
const db = uniqueName('logs');
const prefix = uniqueName('lq');

beforeAll(async () => {
  tg = await startFakeTelegram({ botUsername: 'log_privacy_bot' });
  vk = await startFakeVk({ groupId: GROUP_ID, screenName: 'log_privacy' });
  const { mongoUrl, redisUrl } = serverUrls();
  run = await runMain(
    {
      MONGODB_URL: mongoUrl,
      MONGODB_DB: db,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      ADMIN_TOKEN,
      LOG_LEVEL: 'trace',
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      VK_GROUP_TOKEN: vk.token,
      VK_GROUP_ID: String(GROUP_ID),
      VK_API_BASE_URL: vk.baseUrl,
      VK_API_RPS: '50',
    },
    { until: 'ready', timeoutMs: 90_000 },
  );
}, 120_000);

afterAll(async () => {
  if (run.code === null) run.child.kill('SIGKILL');
  await tg.close();
  await vk.close();
});

/** The code told for a proof, read where the run put it: the queue job of its event. */
async function codeOfProof(identity: string): Promise<string> {
  const conn = await testMongo(db);
  const redis = new Redis(serverUrls().redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<DomainEvent>(DOMAIN_EVENTS_QUEUE, { connection: redis, prefix });
  try {
    for (let i = 0; i < 200; i++) {
      const proof = await conn.collection('phone_proofs').findOne({ identity });
      const job = proof ? await queue.getJob(jobIdFor(`phone-proof:${String(proof._id)}`)) : undefined;
      if (job?.data.type === 'phone.verification') return job.data.data.code;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no code was made');
  } finally {
    await queue.close();
    redis.disconnect();
    await conn.close();
  }
}

describe('the log of a real run', () => {
  it('holds no phone, name or one-time code it handled, in any form', async () => {
    const base = listeningUrl(run.stdout);
    // Telegram: a join whose welcome (with the name and card) Telegram refuses to deliver.
    const irina = tg.user(31_001, { firstName: 'Ирина', languageCode: 'ru' });
    irina.sendCommand('start');
    await irina.waitForText('Здравствуйте, Ирина!', 15_000);
    irina.shareContact(PHONE.slice(1));
    await irina.waitForText('Как к вам обращаться?');
    irina.sendText(NAME);
    await irina.waitForText('остался последний шаг');
    tg.failNextWith('sendMessage', 1, { error_code: 400, description: 'Bad Request: message is too long' });
    irina.pressButtonWithText('✅ Даю согласие');
    await irina.waitForText('Что-то пошло не так');

    // The till: look-ups by phone as tills send them, an enrolment and a purchase by phone.
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const store = (await (await fetch(`${base}/api/v1/admin/stores`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'Log shop' }) })).json()) as { key: string };
    const till = { authorization: `Bearer ${store.key}`, 'content-type': 'application/json' };
    for (const form of ['8 903 555-01-01', PHONE, '+7 (903) 555-01-01', '89035550101']) {
      const res = await fetch(`${base}/api/v1/cards?phone=${encodeURIComponent(form)}`, { headers: till });
      expect(res.status).toBe(200);
    }
    const started = performance.now();
    const long = await fetch(`${base}/api/v1/cards?phone=${'7903555010'.repeat(1200)}`, { headers: till });
    expect(long.status).toBe(400);
    expect(performance.now() - started).toBeLessThan(2000);
    expect((await fetch(`${base}/api/v1/members`, { method: 'POST', headers: till, body: JSON.stringify({ phone: TILL_PHONE, name: 'Пётр Кассов', consent: true }) })).status).toBe(201);
    expect((await fetch(`${base}/api/v1/purchases`, { method: 'POST', headers: till, body: JSON.stringify({ receiptId: 'log-1', phone: '8 903 555-02-02', total: 10_000 }) })).status).toBe(201);

    // VK: someone types Irina's number; the code's notice to her Telegram is refused.
    tg.failNextWith('sendMessage', 1, { error_code: 400, description: 'Bad Request: chat not found' });
    const stranger = vk.user(41_001, { firstName: 'Гость' });
    stranger.pressStart();
    await stranger.waitForText('Здравствуйте, Гость!', 15_000);
    stranger.sendText('8 (903) 555-01-01');
    await stranger.waitForText('Если этот номер уже участвует в программе');
    const code = await codeOfProof(`vk:${stranger.id}`);
    await expect.poll(() => tg.calls.some((c) => c.method === 'sendMessage' && c.status === 400 && typeof c.params.text === 'string' && c.params.text.includes(code)), { timeout: 15_000 }).toBe(true);
    stranger.sendText(code === '000000' ? '111111' : '000000');
    await stranger.waitForText('Код не подходит');
    stranger.sendText(code);
    await stranger.waitForText('С возвращением');

    run.child.kill('SIGTERM');
    expect(await exitWithin(run, 20_000)).toBe(0);
    const log = run.stdout + run.stderr;
    // The run did log what happened (so the absences below mean something)…
    expect(log).toContain('telegram: update failed');
    expect(log).toContain('notification not delivered');
    expect(log).toContain('/api/v1/cards?phone=…');
    expect(log).toContain('Bad Request: chat not found');
    // …and none of what it handled.
    const secrets = [PHONE, PHONE.slice(1), '89035550101', '9035550101', '903 555-01-01', '555-01-01', '5550101', TILL_PHONE.slice(2), '555-02-02', '5550202', code, 'Ирина Логова', 'Логова', 'Кассов', '7903555010'.repeat(2)];
    for (const secret of secrets) expect(log.includes(secret), `the log holds ${secret}`).toBe(false);
    expect(log).not.toMatch(/Код подтверждения|Confirmation code/);
  }, 120_000);
});
