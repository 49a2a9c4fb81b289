import { createFlows, type FlowsService } from '../../bots/flows/flows.service.js';
import { createTelegramApi } from '../../bots/telegram/telegram.bot.js';
import { telegramBroadcastSender } from '../../bots/telegram/telegram.broadcast.js';
import { createVk } from '../../bots/vk/vk.bot.js';
import { vkBroadcastSender } from '../../bots/vk/vk.broadcast.js';
import type { BroadcastChannel } from '../../core/broadcasts/broadcast.types.js';
import { createI18n, type I18n } from '../../core/i18n/i18n.js';
import { createLogger } from '../../infra/logger.js';
import type { QueueFactory } from '../../infra/queue.factory.js';
import { startBroadcastWorkers, type BroadcastWorkerOptions } from '../../workers/broadcasts/broadcast.worker.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram.fake.js';
import { startFakeVk, type FakeVk } from '../fakes/vk.fake.js';
import { testCore, testPhone, type TestCore } from '../helpers/core.js';
import { testQueues, testRedis } from '../helpers/env.js';

export const GROUP_ID = 4242;

/** A core (fake clock at noon in Moscow), fake Telegram (30 msg/s) and VK, queues, and the real senders and flows. */
export interface BroadcastEnv {
  t: TestCore;
  tg: FakeTelegram;
  vk: FakeVk;
  i18n: I18n;
  flows: FlowsService;
  queues: QueueFactory;
  startWorkers(options?: Partial<BroadcastWorkerOptions>): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export async function broadcastEnv(opts: { start?: Date; telegramRate?: number } = {}): Promise<BroadcastEnv> {
  const t = await testCore({ start: opts.start ?? new Date('2026-03-02T09:00:00Z') });
  const tg = await startFakeTelegram({ globalRate: opts.telegramRate ?? 30 });
  const vk = await startFakeVk({ groupId: GROUP_ID, screenName: 'shop' });
  const i18n = await createI18n();
  const flows = createFlows({ core: t.core, i18n, links: {} });
  const queues = testQueues();
  const redis = await testRedis();
  const running: { close(): Promise<void> }[] = [];
  const senders = {
    telegram: telegramBroadcastSender(createTelegramApi({ enabled: true, token: tg.token, apiRoot: tg.apiRoot, mode: { kind: 'polling' } }, { waits: false }), i18n),
    vk: vkBroadcastSender(createVk({ enabled: true, token: vk.token, groupId: GROUP_ID, apiBaseUrl: vk.baseUrl, rps: 100, mode: { kind: 'longpoll' } }), i18n),
  };
  return {
    t,
    tg,
    vk,
    i18n,
    flows,
    queues,
    async startWorkers(options = {}) {
      const w = await startBroadcastWorkers({
        core: t.core,
        queues,
        redis,
        senders,
        wallet: null,
        logger: createLogger('silent'),
        options: { recheckMs: 200, stallMs: 5000, tickMs: 300, ...options },
      });
      running.push(w);
      return w;
    },
    async close() {
      for (const w of running) await w.close();
      await queues.close();
      redis.disconnect();
      await tg.close();
      await vk.close();
      await t.close();
    },
  };
}

let chatSeq = 500_000;

/** A member linked to a Telegram and/or VK chat, opted in (or not) to marketing there. */
export async function member(env: BroadcastEnv, o: { telegram?: boolean; vk?: boolean; optIn?: boolean; language?: 'ru' | 'en' } = {}): Promise<{ id: string; tg?: number; vk?: number }> {
  const tgId = o.telegram === false ? undefined : ++chatSeq;
  const vkId = o.vk ? ++chatSeq : undefined;
  const r = await env.t.core.members.enroll({
    phone: testPhone(),
    name: 'Анна',
    consent: true,
    channel: tgId ? 'telegram' : 'vk',
    language: o.language ?? 'ru',
    ...(tgId ? { identity: `telegram:${tgId}` } : { identity: `vk:${vkId ?? 0}` }),
  });
  const id = String(r.member._id);
  if (tgId && vkId) await env.t.core.members.linkIdentity(id, `vk:${vkId}`);
  const channels: BroadcastChannel[] = [...(tgId ? (['telegram'] as const) : []), ...(vkId ? (['vk'] as const) : [])];
  if (o.optIn !== false) await env.t.core.broadcasts.setMarketing(id, channels, true);
  return { id, ...(tgId ? { tg: tgId } : {}), ...(vkId ? { vk: vkId } : {}) };
}

/** Waits (polling the store, bounded) until the broadcast reaches `status`. */
export async function waitForStatus(env: BroadcastEnv, id: string, status: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const b = await env.t.core.broadcasts.get(id);
    if (b.status === status) return;
    if (Date.now() > deadline) throw new Error(`broadcast ${id} is ${b.status}, not ${status}, after ${timeoutMs} ms: ${JSON.stringify(b.counts)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
