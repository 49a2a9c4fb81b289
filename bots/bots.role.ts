import type { Config } from '../core/config.js';
import type { Logger } from '../infra/logger.js';
import type { Redis } from '../infra/redis.js';
import type { RoleHandle } from '../infra/role.js';
import type { Channels } from './channels.js';
import { startTelegram } from './telegram/telegram.runner.js';
import { startVk } from './vk/vk.runner.js';

/**
 * The `bots` role: intake of every configured chat channel. Telegram polls here, VK reads Bots
 * Long Poll here; in webhook / Callback API mode the API process receives updates and this
 * role only says so. A channel without credentials stays off and says why. (Twitch giveaways
 * are polled by the worker role.)
 */
export async function startBots(deps: { config: Pick<Config, 'telegram' | 'vk' | 'http' | 'queuePrefix'>; logger: Logger; redis: Redis }, channels: Channels): Promise<RoleHandle> {
  const { config, logger } = deps;
  const tg = config.telegram;
  const summary: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  if (!tg.enabled) summary.push(`Telegram: off, ${tg.reason}`);
  else if (tg.mode.kind === 'webhook') summary.push(`Telegram: on (webhook ${tg.mode.url}, served by the api role)`);
  else if (channels.telegram) {
    const handle = await startTelegram({ bot: channels.telegram.bot, config: tg, logger, i18n: channels.i18n });
    closers.push(() => handle.stop());
    summary.push(`Telegram: on (polling, @${channels.telegram.username})`);
  }
  const vk = config.vk;
  if (!vk.enabled) summary.push(`VK: off, ${vk.reason}`);
  else if (vk.mode.kind === 'callback') summary.push(`VK: on (Callback API at ${config.http.publicUrl}/vk/callback, served by the api role)`);
  else if (channels.vk) {
    const handle = await startVk({ bot: channels.vk.bot, config: vk, logger, redis: deps.redis, prefix: config.queuePrefix });
    closers.push(() => handle.stop());
    summary.push(`VK: on (long poll, vk.me/${channels.vk.community})`);
  }
  if (channels.chat) {
    summary.push('Terminal chat: on (type a number to press a button, /contact +79991234567 to share a phone)');
  }
  return {
    summary,
    async close() {
      for (const c of closers.reverse()) await c();
      channels.chat?.close();
    },
  };
}
