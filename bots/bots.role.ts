import type { Runtime } from '../infra/runtime.js';
import type { RoleHandle } from '../api/api.role.js';
import type { Channels } from './channels.js';
import { startTelegram } from './telegram/telegram.runner.js';
import { startTwitch } from './twitch/twitch.runner.js';
import { startVk } from './vk/vk.runner.js';

/**
 * The `bots` role: intake of every configured channel. Telegram polls here, VK reads Bots
 * Long Poll here; in webhook / Callback API mode the API process receives updates and this
 * role only says so. A channel without credentials stays off and says why.
 */
export async function startBots(rt: Runtime, channels: Channels): Promise<RoleHandle> {
  const tg = rt.config.telegram;
  const summary: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  if (!tg.enabled) summary.push(`Telegram: off, ${tg.reason}`);
  else if (tg.mode.kind === 'webhook') summary.push(`Telegram: on (webhook ${tg.mode.url}, served by the api role)`);
  else if (channels.telegram) {
    const handle = await startTelegram({ bot: channels.telegram.bot, config: tg, logger: rt.logger, i18n: channels.i18n });
    closers.push(() => handle.stop());
    summary.push(`Telegram: on (polling, @${channels.telegram.username})`);
  }
  const vk = rt.config.vk;
  if (!vk.enabled) summary.push(`VK: off, ${vk.reason}`);
  else if (vk.mode.kind === 'callback') summary.push(`VK: on (Callback API at ${rt.config.http.publicUrl}/vk/callback, served by the api role)`);
  else if (channels.vk) {
    const handle = await startVk({ bot: channels.vk.bot, config: vk, logger: rt.logger, redis: rt.redis, prefix: rt.config.queuePrefix });
    closers.push(() => handle.stop());
    summary.push(`VK: on (long poll, vk.me/${channels.vk.community})`);
  }
  // Channel-point giveaways: needs TWITCH_CLIENT_ID and a token stored by `npm run twitch:connect`.
  const twitch = await startTwitch(rt, channels.i18n);
  closers.push(() => twitch.stop());
  summary.push(twitch.summary);
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
