/**
 * Broadcasts, measured in one run against the wire-level fakes and the embedded store:
 *  - Telegram: messages delivered per second as a ratio of the configured limit (25/s; the fake
 *    Telegram refuses past 30/s with 429), with duplicates and losses counted per chat;
 *  - VK: messages per second as a ratio of 20 calls × 100 peers;
 *  - Telegram again with the old deliveries of a finished broadcast in the collection (FerretDB
 *    v1 reads the whole collection for any filter beyond `_id`), as the store sends now, and
 *    for a few messages with the conditional updates MongoDB uses (the way every store sent
 *    before the gates of core/broadcasts/delivery-gate.repository.ts);
 *  - planning: members planned per second on the embedded store (FerretDB unless MONGODB_URL),
 *    and database commands per recipient.
 *   BENCH_BROADCAST_TELEGRAM (300), BENCH_BROADCAST_VK (2000), BENCH_BROADCAST_PLAN (10000),
 *   BENCH_BROADCAST_OLD (100000 old deliveries; 0 skips), BENCH_BROADCAST_BEFORE (10 messages
 *   with conditional updates; 0 skips)
 */
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { createCore, type Core } from '../core/core.js';
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
const OLD = Number(process.env.BENCH_BROADCAST_OLD ?? 100_000);
const BEFORE = Math.min(Number(process.env.BENCH_BROADCAST_BEFORE ?? 10), TG);
const RATE = 25;
const GROUP_ID = 777;

const b = await benchCore();
const tg = await startFakeTelegram({ globalRate: 30 });
const vk = await startFakeVk({ groupId: GROUP_ID, screenName: 'bench' });
const i18n = await createI18n();
const queues = createQueueFactory(b.redis.url, `bbench_${Date.now()}`);
const telegramApi = createTelegramApi({ enabled: true, token: tg.token, apiRoot: tg.apiRoot, mode: { kind: 'polling' } }, { waits: false });
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

async function waitDone(id: string, label: string, totalCount: number, core: Core = b.core): Promise<void> {
  let last = '';
  for (;;) {
    const v = await core.broadcasts.get(id);
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

/** What one Telegram broadcast's sends (those from `from` on in the fake's log) came to. */
function telegramStats(from: number, chats: number[]): { sends: number; rate: number; duplicates: number; lost: number } {
  const sends = tg.sent().slice(from).filter((m) => m.method === 'sendMessage');
  const first = sends[0]?.at ?? 0;
  const lastAt = sends[sends.length - 1]?.at ?? 0;
  const perChat = new Map<string, number>();
  for (const m of sends) perChat.set(String(m.chat_id), (perChat.get(String(m.chat_id)) ?? 0) + 1);
  return {
    sends: sends.length,
    rate: (sends.length - 1) / ((lastAt - first) / 1000),
    duplicates: [...perChat.values()].filter((n) => n > 1).length,
    lost: chats.filter((c) => !perChat.has(String(c))).length,
  };
}

const tgLine = (label: string, r: ReturnType<typeof telegramStats>, refused: number): string =>
  `${label}: ${r.sends} messages at ${r.rate.toFixed(1)}/s; limit ${RATE}/s → ratio ${(r.rate / RATE).toFixed(3)} (goal ≥ 0.95); duplicates ${r.duplicates}, lost ${r.lost}, 429s from the fake ${refused}`;

/** A Telegram broadcast to every opted-in member, sent by workers of `core` on queues of their own. */
async function telegramRun(core: Core, label: string, chats: number[]): Promise<string> {
  const q = createQueueFactory(b.redis.url, `bbench_${label.replace(/\W+/g, '_')}_${Date.now()}`);
  const w = await startBroadcastWorkers({
    core,
    queues: q,
    redis,
    wallet: null,
    logger: createLogger('silent'),
    senders: { telegram: telegramBroadcastSender(telegramApi, i18n) },
    options: { telegramRate: RATE, vkRate: 20, recheckMs: 1000, tickMs: 1000 },
  });
  try {
    const from = tg.sent().length;
    const refused = tg.sendStats().refused429;
    const run = await core.broadcasts.create({ text: `Бенчмарк: ${label}`, audience: { kind: 'all' }, channels: ['telegram'] });
    await waitDone(run.id, label, chats.length, core);
    return tgLine(label, telegramStats(from, chats), tg.sendStats().refused429 - refused);
  } finally {
    await w.close();
    await q.close();
  }
}

/** `n` delivery records of a broadcast done long ago (and on FerretDB their claim and end gates), straight into the collections. */
async function insertOldDeliveries(n: number): Promise<void> {
  const old = new Types.ObjectId().toHexString();
  const at = new Date(Date.now() - 30 * 86_400_000);
  const gated = b.mongo.source === 'ferretdb';
  for (let from = 0; from < n; from += 1000) {
    const docs = [];
    const gates = [];
    for (let i = from; i < Math.min(n, from + 1000); i++) {
      const memberId = new Types.ObjectId().toHexString();
      const _id = `${old}:telegram:${memberId}`;
      docs.push({ _id, b: old, channel: 'telegram', memberId, to: String(20_000_000 + i), lang: 'ru', state: 'sent', claim: null, reason: null, at });
      if (gated) gates.push({ _id: `${_id}#0`, job: _id.replaceAll(':', '.'), at }, { _id: `${_id}#0.end`, job: _id.replaceAll(':', '.'), at, state: 'sent', reason: null });
    }
    await b.conn.collection('broadcast_deliveries').insertMany(docs as never[]);
    if (gates.length) await b.conn.collection('broadcast_claims').insertMany(gates as never[]);
    if (from % 10_000 === 0) process.stderr.write(`  old deliveries: ${from}/${n}\r`);
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
      telegram: telegramBroadcastSender(telegramApi, i18n),
      vk: vkBroadcastSender(createVk({ enabled: true, token: vk.token, groupId: GROUP_ID, apiBaseUrl: vk.baseUrl, rps: 1000, mode: { kind: 'longpoll' } }), i18n),
    },
    options: { telegramRate: RATE, vkRate: 20, recheckMs: 1000, tickMs: 1000 },
  });

  // --- Telegram
  log(`inserting ${TG} Telegram members…`);
  const tgChats = await insertMembers(TG, 'telegram');
  const tgB = await b.core.broadcasts.create({ text: 'Бенчмарк: скидка 20%', audience: { kind: 'all' }, channels: ['telegram'] });
  await waitDone(tgB.id, 'telegram', TG);
  console.log(`Store: ${b.mongo.source}`);
  console.log(tgLine('Telegram', telegramStats(0, tgChats), tg.sendStats().refused429));

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
  console.log(`VK: ${vkMsgs.length} messages in ${vkCalls} calls, ${vkRate.toFixed(0)} messages/s → ratio ${(vkRate / 2000).toFixed(3)} of 20 calls × 100 peers; lost ${vkLost}`);

  // --- Telegram with a broadcast_deliveries collection that has seen a few large broadcasts
  if (OLD > 0) {
    log(`inserting ${OLD} old deliveries…`);
    await insertOldDeliveries(OLD);
    console.log(await telegramRun(b.core, `Telegram with ${OLD} old deliveries in the collection`, tgChats));
    if (BEFORE > 0 && b.mongo.source === 'ferretdb') {
      // The same store, deliveries changed by conditional updates: only BEFORE members opted in (each message is minutes of scans).
      const guarded = createCore({ conn: b.conn, guardedCardWrites: true, phoneHashSecret: randomBytes(32).toString('hex') });
      const members = b.conn.collection('members');
      const few = await members.find({ 'optIn.telegram': true }, { projection: { _id: 1 } }).limit(BEFORE).toArray();
      await members.updateMany({ 'optIn.telegram': true, _id: { $nin: few.map((m) => m._id) } }, { $set: { 'optIn.telegram': false, benchOut: true } });
      try {
        const chats = (await b.conn.collection<{ _id: string; memberId: string }>('member_identities').find({ memberId: { $in: few.map((m) => String(m._id)) } }).toArray()).map((l) => Number(l._id.slice('telegram:'.length)));
        console.log(await telegramRun(guarded, `  the same with conditional updates (before the gates)`, chats));
      } finally {
        await members.updateMany({ benchOut: true }, { $set: { 'optIn.telegram': true }, $unset: { benchOut: '' } });
        guarded.close();
      }
    }
    // Planning below starts on empty collections, as before (a deleteMany of them is refused by
    // FerretDB v1: too many SQL variables): the first runs' 2,600 records are gone too.
    await b.conn.collection('broadcast_deliveries').drop();
    await b.conn.collection('broadcast_claims').drop();
  }

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

  console.log(`Planning ${planned} deliveries of ${recipients + VK} members (${PLAN} in the store): counting ${(countMs / 1000).toFixed(1)} s (${(countCmds / PLAN).toFixed(3)} commands/member), planning ${(planMs / 1000).toFixed(1)} s = ${(planned / (planMs / 1000)).toFixed(0)} recipients/s, ${(planCmds / planned).toFixed(3)} commands/recipient`);
} finally {
  await queues.close();
  redis.disconnect();
  await tg.close();
  await vk.close();
  await b.close();
}
