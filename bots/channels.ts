import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Bot } from 'grammy';
import type { Config } from '../core/config.js';
import type { Core } from '../core/core.js';
import type { I18n } from '../core/i18n/i18n.js';
import type { ChatChannel } from '../core/members/identity.js';
import type { BroadcastSenders } from '../infra/broadcast-delivery.js';
import type { ChannelSender } from '../infra/delivery.js';
import type { Logger } from '../infra/logger.js';
import type { Redis } from '../infra/redis.js';
import { createConsoleChat } from './console/console.chat.js';
import type { CardWallet } from './flows/card.flow.js';
import type { Reply } from './flows/flow.types.js';
import { createFlows, type FlowsService } from './flows/flows.service.js';
import { createTelegramApi, createTelegramBot } from './telegram/telegram.bot.js';
import { telegramSender } from './telegram/telegram.render.js';
import { telegramBroadcastSender } from './telegram/telegram.broadcast.js';
import { createVk, createVkBot, fetchCommunity, redisUpdateGuard, type VkBot } from './vk/vk.bot.js';
import { vkSender } from './vk/vk.render.js';
import { vkBroadcastSender } from './vk/vk.broadcast.js';

export interface ConsoleOptions {
  input: Readable;
  output: Writable;
  userId: string;
  languageCode?: string | undefined;
  colour?: boolean;
}

/**
 * Every chat channel of this process over one set of flows: the Telegram bot and the VK
 * community bot (each when its token is configured), the terminal chat (in `npm run chat`),
 * and the senders the notification worker delivers through. Roles pick what they need: the
 * bots role starts intake, the worker role sends, the API role serves the Telegram webhook and
 * the VK Callback API.
 */
/** How the notification worker reaches each chat channel of this process. */
export type Senders = Partial<Record<ChatChannel, ChannelSender<Reply[]>>>;

export interface ChannelDeps {
  config: Pick<Config, 'telegram' | 'vk' | 'queuePrefix' | 'dataDir'>;
  core: Core;
  i18n: I18n;
  /** The VK update guard lives in Redis (each update once across processes). */
  redis: Redis;
  logger: Logger;
  /** Apple Wallet, when configured: "My card" then carries the pass link. */
  wallet?: CardWallet | undefined;
}

export interface Channels {
  i18n: I18n;
  flows: FlowsService;
  senders: Senders;
  /** How the broadcast workers reach each bot channel of this process. */
  broadcastSenders: BroadcastSenders;
  telegram: { bot: Bot; username: string } | undefined;
  vk: { bot: VkBot; community: string } | undefined;
  chat: ReturnType<typeof createConsoleChat> | undefined;
}

export async function createChannels(deps: ChannelDeps, opts: { console?: ConsoleOptions } = {}): Promise<Channels> {
  const { config, i18n, logger } = deps;
  const tg = config.telegram;
  // getMe fails start-up on a wrong token, and gives the username for invite links.
  const me = tg.enabled ? await createTelegramApi(tg).getMe() : undefined;
  const vkc = config.vk;
  const vkApi = vkc.enabled ? createVk(vkc) : undefined;
  // groups.getById fails start-up on a wrong token or community id, and gives the short name for invite links.
  const community = vkc.enabled && vkApi ? await fetchCommunity(vkApi, vkc.groupId) : undefined;
  const flows = createFlows({ core: deps.core, i18n, links: { telegramBot: me?.username, vkCommunity: community?.screenName }, wallet: deps.wallet });
  const senders: Senders = {};
  const broadcastSenders: BroadcastSenders = {};
  let telegram: Channels['telegram'];
  if (tg.enabled && me) {
    const bot = createTelegramBot({ config: tg, flows, logger, i18n, botInfo: me });
    telegram = { bot, username: me.username };
    // Its own client that does not wait out 429s: the notification worker puts the job back instead.
    senders.telegram = telegramSender(createTelegramApi(tg, { waits: false }));
    // Broadcasts too: a 429 pauses the broadcast queue rather than a wait in a job.
    broadcastSenders.telegram = telegramBroadcastSender(createTelegramApi(tg, { waits: false }), i18n);
  }
  let vk: Channels['vk'];
  if (vkc.enabled && vkApi && community) {
    const guard = redisUpdateGuard(deps.redis, config.queuePrefix, vkc.groupId);
    vk = { bot: createVkBot({ config: vkc, vk: vkApi, flows, guard, logger, i18n }), community: community.screenName };
    senders.vk = vkSender(vkApi);
    broadcastSenders.vk = vkBroadcastSender(vkApi, i18n);
  }
  let chat: Channels['chat'];
  if (opts.console) {
    const qrDir = resolve(config.dataDir, 'chat');
    chat = createConsoleChat({
      flows,
      ...opts.console,
      saveImage: (r) => {
        if (!r.image) return undefined;
        mkdirSync(qrDir, { recursive: true });
        const path = join(qrDir, r.image.filename);
        writeFileSync(path, r.image.png);
        return path;
      },
    });
    const c = chat;
    senders.console = async (_userId, replies) => {
      c.deliver(replies);
    };
  }
  return { i18n, flows, senders, broadcastSenders, telegram, vk, chat };
}
