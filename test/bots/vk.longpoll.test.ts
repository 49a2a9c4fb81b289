import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlows } from '../../bots/flows/flows.service.js';
import { createVk, createVkBot, fetchCommunity, redisUpdateGuard, type EnabledVkConfig } from '../../bots/vk/vk.bot.js';
import { startVk, type VkHandle } from '../../bots/vk/vk.runner.js';
import { createI18n, type I18n } from '../../core/i18n/i18n.js';
import { createLogger, type Logger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis.js';
import { startFakeVk, type FakeVk } from '../fakes/vk.fake.js';
import { testCore, testPhone, type TestCore } from '../helpers/core.js';
import { testRedis, uniqueName } from '../helpers/env.js';

/**
 * VK through Bots Long Poll: vk-io's own PollingTransport polls the fake VK API's long poll
 * server (groups.getLongPollServer → a_check), as `vk.updates.start()` would.
 */

const GROUP_ID = 217_000_002;
let fake: FakeVk;
let t: TestCore;
let i18n: I18n;
let redis: Redis;
let prefix: string;
const logLines: { level: number; msg: string }[] = [];
let logger: Logger;

beforeAll(async () => {
  fake = await startFakeVk({ groupId: GROUP_ID, screenName: 'shop_lp' });
  t = await testCore();
  i18n = await createI18n();
  redis = await testRedis();
  prefix = uniqueName('vklp');
  logger = createLogger('warn', { write: (line: string) => logLines.push(JSON.parse(line) as { level: number; msg: string }) });
});

afterAll(async () => {
  redis.disconnect();
  await fake.close();
  await t.close();
});

function config(mode: EnabledVkConfig['mode'] = { kind: 'longpoll' }): EnabledVkConfig {
  return { enabled: true, token: fake.token, groupId: GROUP_ID, apiBaseUrl: fake.baseUrl, rps: 50, mode };
}

/** A bots process: fresh client, flows and bot on the shared database and Redis. */
async function startBots(mode?: EnabledVkConfig['mode']): Promise<VkHandle> {
  const vk = createVk(config(mode));
  const community = await fetchCommunity(vk, GROUP_ID);
  const flows = createFlows({ core: t.core, i18n, links: { vkCommunity: community.screenName } });
  const bot = createVkBot({ config: config(mode), vk, flows, guard: redisUpdateGuard(redis, prefix, GROUP_ID), logger, i18n });
  return startVk({ bot, config: config(mode), logger, redis, prefix, drainTimeoutMs: 2000 });
}

describe('VK Bots Long Poll', () => {
  it('joins through long poll; a restart neither loses nor repeats a message', async () => {
    const user = fake.user(600_001, { firstName: 'Пётр' });
    const first = await startBots();
    expect(first.mode).toBe('longpoll');
    try {
      user.pressStart();
      await user.waitForText('Здравствуйте, Пётр!');
      user.sendText(testPhone());
      await user.waitForText('напишите, как к вам обращаться');
    } finally {
      await first.stop();
    }
    // Sent while no bots process runs (the first one has stopped): nothing can answer it yet.
    user.sendText('Пётр');
    expect(user.lastText()).toMatch(/^Спасибо! Если этот номер уже участвует в программе/);

    const second = await startBots();
    try {
      await user.waitForText('Пётр, остался последний шаг');
      user.pressButton('✅ Даю согласие');
      await user.waitForText('Добро пожаловать в программу, Пётр!');
      user.pressButton('🎁 Пригласить друга');
      const invite = await user.waitForText('Приглашайте друзей');
      expect(invite.text).toMatch(/https:\/\/vk\.me\/shop_lp\?ref=[a-z0-9]+/);
    } finally {
      await second.stop();
    }
    expect(user.inbox().filter((m) => m.text.startsWith('Здравствуйте'))).toHaveLength(1);
    expect(user.inbox().filter((m) => m.text.startsWith('Спасибо! Если этот номер'))).toHaveLength(1);
    expect(fake.unansweredEvents()).toEqual([]);
    expect(logLines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('a token of another community stops the start, naming both ids', async () => {
    const vk = createVk({ ...config(), groupId: GROUP_ID + 1 });
    await expect(fetchCommunity(vk, GROUP_ID + 1)).rejects.toThrow(`belongs to community ${GROUP_ID}, not to VK_GROUP_ID ${GROUP_ID + 1}`);
  });

  it('starts nothing in Callback API mode (the api role receives the updates)', async () => {
    const handle = await startBots({ kind: 'callback', secret: 'CallbackSecret0123456789', confirmation: 'abc' });
    expect(handle.mode).toBe('callback');
    await handle.stop();
    expect(fake.calls.filter((c) => c.method === 'groups.getLongPollServer')).toHaveLength(2);
  });
});
