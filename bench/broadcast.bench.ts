/**
 * Broadcasts, measured in one run against the wire-level fakes and the embedded store:
 *  - Telegram: messages delivered per second as a ratio of the configured limit (25/s; the fake
 *    Telegram refuses past 30/s with 429), with duplicates and losses counted per chat;
 *  - VK: messages per second as a ratio of 20 calls × 100 peers;
 *  - planning: members planned per second on the embedded store (FerretDB unless MONGODB_URL),
 *    and database commands per recipient.
 *   BENCH_BROADCAST_TELEGRAM (300), BENCH_BROADCAST_VK (2000), BENCH_BROADCAST_PLAN (10000)
 */
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { createI18n } from '../core/i18n/i18n.js';
import { createTelegramApi } from '../bots/telegram/telegram.bot.js';
import { telegramBroadcastSender } from '../bots/telegram/telegram.broadcast.js';
import { createVk } from '../bots/vk/vk.bot.js';
import { vkBroadcastSender } from '../bots/vk/vk.broadcast.js';
import { createLogger } from '../infra/logger.js';
import { createQueueFactory } from '../infra/queue.factory.js';
import { createRedis } from '../infra/redis.js';
import { startBroadcastWorkers } from '../workers/broadcasts/broadcast.worker.js';
import { startFakeTelegram } from '../test/fakes/telegram.fake.js';
import { startFakeVk } from '../test/fakes/vk.fake.js';
import { benchCore, total } from './bench.servers.js';

const TG = Number(process.env.BENCH_BROADCAST_TELEGRAM ?? 300);
const VK = Number(process.env.BENCH_BROADCAST_VK ?? 2000);
const PLAN = Number(process.env.BENCH_BROADCAST_PLAN ?? 10_000);
const RATE = 25;
const GROUP_ID = 777;

const b = await benchCore();
const tg = await startFakeTelegram({ globalRate: 30 });
const vk = await startFakeVk({ groupId: GROUP_ID, screenName: 'bench' });
const i18n = await createI18n();
const queues = createQueueFactory(b.redis.url, `bbench_${Date.now()}`);
const redis = createRedis(b.redis.url);
await redis.connect();
const log = (line: string): void => {
  process.stderr.write(`  ${line}\n`);
};

/** Members straight into the collections (the bench measures broadcasts, not joining). */
let seq = 0;
async function insertMembers(n: number, channel: 'telegram' | 'vk'): Promise<number[]> {
  const chats: number[] = [];
  for (let from = 0; from < n; from += 1000) {
    const members = [];
    const links = [];
    for (let i = from; i < Math.min(n, from + 1000); i++) {
      const _id = new Types.ObjectId();
      const chat = 10_000_000 + ++seq;
      chats.push(chat);
      const now = new Date();
      members.push({ _id, phone: `none:${String(_id)}`, name: 'Bench', language: 'ru', consent: { at: now, version: '2026-01' }, status: 'active', cardNumber: null, referralCode: randomBytes(8).toString('hex'), referrerId: null, joinedVia: channel, storeId: null, optIn: { [channel]: true }, optInAt: now, notifications: true, roles: [], birthday: null, registeredAt: now, erasedAt: null, createdAt: now, updatedAt: now });
      links.push({ _id: `${channel}:${chat}`, memberId: String(_id), createdAt: now });
    }
    await b.conn.collection('members').insertMany(members);
    await b.conn.collection('member_identities').insertMany(links as never[]);
  }
  return chats;
}

async function waitDone(id: string, label: string, totalCount: number): Promise<void> {
  let last = '';
  for (;;) {
    const v = await b.core.broadcasts.get(id);
    const c = v.channels.map((ch) => v.counts[ch]);
    const done = c.reduce((s, x) => s + x.sent + x.failed + x.blocked + x.skipped, 0);
    const line = `${label}: ${done}/${totalCount} ${v.status}`;
    if (line !== last) {
      process.stderr.write(`  ${line}\r`);
      last = line;
    }
    if (v.status === 'done') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stderr.write('\n');
}

try {
  // No quiet hours, no cap in the way: the bench measures delivery.
  await b.core.settings.update({ marketing: { quietHours: null, frequencyCap: { max: 100, days: 7 }, automations: { expiringPoints: { enabled: false, withinDays: 14 }, weMissYou: { enabled: false, afterDays: 60 } } } });
  const workers = await startBroadcastWorkers({
    core: b.core,
    queues,
    redis,
    wallet: null,
    logger: createLogger('silent'),
    senders: {
      telegram: telegramBroadcastSender(createTelegramApi({ enabled: true, token: tg.token, apiRoot: tg.apiRoot, mode: { kind: 'polling' } }, { waits: false }), i18n),
      vk: vkBroadcastSender(createVk({ enabled: true, token: vk.token, groupId: GROUP_ID, apiBaseUrl: vk.baseUrl, rps: 1000, mode: { kind: 'longpoll' } }), i18n),
    },
    options: { telegramRate: RATE, vkRate: 20, recheckMs: 1000, tickMs: 1000 },
  });

  // --- Telegram
  log(`inserting ${TG} Telegram members…`);
  const tgChats = await insertMembers(TG, 'telegram');
  const tgB = await b.core.broadcasts.create({ text: 'Бенчмарк: скидка 20%', audience: { kind: 'all' }, channels: ['telegram'] });
  await waitDone(tgB.id, 'telegram', TG);
  const sends = tg.sent().filter((m) => m.method === 'sendMessage');
  const first = sends[0]?.at ?? 0;
  const lastAt = sends[sends.length - 1]?.at ?? 0;
  const tgRate = (sends.length - 1) / ((lastAt - first) / 1000);
  const perChat = new Map<string, number>();
  for (const m of sends) perChat.set(String(m.chat_id), (perChat.get(String(m.chat_id)) ?? 0) + 1);
  const duplicates = [...perChat.values()].filter((n) => n > 1).length;
  const lost = tgChats.filter((c) => !perChat.has(String(c))).length;

  // --- VK
  log(`inserting ${VK} VK members…`);
  const vkPeers = await insertMembers(VK, 'vk');
  const vkB = await b.core.broadcasts.create({ text: 'Бенчмарк VK', audience: { kind: 'all' }, channels: ['vk'] });
  await waitDone(vkB.id, 'vk', VK);
  const vkMsgs = vk.sent();
  const vkSpan = ((vkMsgs[vkMsgs.length - 1]?.at ?? 0) - (vkMsgs[0]?.at ?? 0)) / 1000;
  const vkRate = vkMsgs.length / Math.max(vkSpan, 0.001);
  const vkCalls = vk.calls.filter((c) => c.method === 'messages.send').length;
  const vkLost = vkPeers.length - new Set(vkMsgs.map((m) => m.peer_id)).size;
  await workers.close();

  // --- planning (no workers: the plan steps alone)
  const more = Math.max(0, PLAN - TG - VK);
  log(`inserting ${more} more members (${PLAN} in all)…`);
  await insertMembers(more, 'telegram');
  const recipients = TG + more;
  b.core.broadcasts.useJobs({ plan: async () => undefined });
  b.commands.start();
  const t0 = performance.now();
  const planB = await b.core.broadcasts.create({ text: 'План', audience: { kind: 'all' }, channels: ['telegram', 'vk'] });
  const countMs = performance.now() - t0;
  const countCmds = total(b.commands.stop());
  b.commands.start();
  const t1 = performance.now();
  let planned = 0;
  for (;;) {
    const step = await b.core.broadcasts.planStep(planB.id, 1000);
    if (step.kind !== 'page') break;
    planned += step.work.telegram.length + step.work.vk.flat().length;
    await step.commit();
    process.stderr.write(`  planning: ${planned}/${PLAN}\r`);
    if (step.done) break;
  }
  process.stderr.write('\n');
  const planMs = performance.now() - t1;
  const planCmds = total(b.commands.stop());

  console.log(`Store: ${b.mongo.source}`);
  console.log(`Telegram: ${sends.length} messages to ${TG} chats at ${tgRate.toFixed(1)}/s; limit ${RATE}/s → ratio ${(tgRate / RATE).toFixed(3)} (goal ≥ 0.95); duplicates ${duplicates}, lost ${lost}, 429s from the fake ${tg.sendStats().refused429}`);
  console.log(`VK: ${vkMsgs.length} messages in ${vkCalls} calls, ${vkRate.toFixed(0)} messages/s → ratio ${(vkRate / 2000).toFixed(3)} of 20 calls × 100 peers; lost ${vkLost}`);
  console.log(`Planning ${planned} deliveries of ${recipients + VK} members (${PLAN} in the store): counting ${(countMs / 1000).toFixed(1)} s (${(countCmds / PLAN).toFixed(3)} commands/member), planning ${(planMs / 1000).toFixed(1)} s = ${(planned / (planMs / 1000)).toFixed(0)} recipients/s, ${(planCmds / planned).toFixed(3)} commands/recipient`);
} finally {
  await queues.close();
  redis.disconnect();
  await tg.close();
  await vk.close();
  await b.close();
}
