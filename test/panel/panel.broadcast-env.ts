import { createTelegramApi } from '../../bots/telegram/telegram.bot.js';
import { telegramBroadcastSender } from '../../bots/telegram/telegram.broadcast.js';
import { createVk } from '../../bots/vk/vk.bot.js';
import { vkBroadcastSender } from '../../bots/vk/vk.broadcast.js';
import { createI18n } from '../../core/i18n/i18n.js';
import { createLogger } from '../../infra/logger.js';
import { startBroadcastWorkers } from '../../workers/broadcasts/broadcast.worker.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram.fake.js';
import { startFakeVk } from '../fakes/vk.fake.js';
import { testPhone } from '../helpers/core.js';
import { testQueues } from '../helpers/env.js';
import type { PanelApp } from './panel.fixture.js';

let chat = 700_000;

/** The broadcast workers on the panel app's core, delivering to the Telegram and VK fakes; a few opted-in members. */
export async function startBroadcastDelivery(p: PanelApp, members: { telegram: number; vk: number }): Promise<{ tg: FakeTelegram; segmentId: string; close(): Promise<void> }> {
  const tg = await startFakeTelegram({ globalRate: 100 });
  const vk = await startFakeVk({ groupId: 4242, screenName: 'shop' });
  const queues = testQueues();
  const i18n = await createI18n();
  const workers = await startBroadcastWorkers({
    core: p.core,
    queues,
    redis: p.redis,
    senders: {
      telegram: telegramBroadcastSender(createTelegramApi({ enabled: true, token: tg.token, apiRoot: tg.apiRoot, mode: { kind: 'polling' } }, { waits: false }), i18n),
      vk: vkBroadcastSender(createVk({ enabled: true, token: vk.token, groupId: 4242, apiBaseUrl: vk.baseUrl, rps: 100, mode: { kind: 'longpoll' } }), i18n),
    },
    wallet: null,
    logger: createLogger('silent'),
    options: { recheckMs: 200, stallMs: 5000, tickMs: 300 },
  });
  const enrol = async (telegram: boolean) => {
    chat += 1;
    const r = await p.core.members.enroll({ phone: testPhone(), name: 'Анна', consent: true, channel: telegram ? 'telegram' : 'vk', language: 'ru', identity: telegram ? `telegram:${chat}` : `vk:${chat}` });
    await p.core.broadcasts.setMarketing(String(r.member._id), [telegram ? 'telegram' : 'vk'], true);
  };
  for (let i = 0; i < members.telegram; i += 1) await enrol(true);
  for (let i = 0; i < members.vk; i += 1) await enrol(false);
  await p.core.insight.segments.rebuild();
  const segmentId = (await p.core.insight.segments.create({ name: 'Telegram', rules: { op: 'and', rules: [{ field: 'channel', op: 'eq', value: 'telegram' }] } })).id;
  return {
    tg,
    segmentId,
    async close() {
      await workers.close();
      await queues.close();
      await tg.close();
      await vk.close();
    },
  };
}
