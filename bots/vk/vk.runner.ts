import { PollingTransport } from 'vk-io';
import type { Logger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis.js';
import { vkAgent, type EnabledVkConfig, type VkBot } from './vk.bot.js';

export interface VkHandle {
  mode: 'longpoll' | 'callback';
  /** Long poll: stop fetching, let running updates finish, remember where the poll stood. Callback: nothing here (the HTTP route drains). */
  stop(): Promise<void>;
}

export interface StartVkDeps {
  bot: VkBot;
  config: EnabledVkConfig;
  logger: Logger;
  /** Where the long poll position (`ts`) is kept between runs; without it a start begins at "now". */
  redis?: Redis;
  /** Key prefix (the deployment's queue prefix). */
  prefix?: string;
  /** How long stop() waits for running updates. */
  drainTimeoutMs?: number;
  /** How often the long poll position is saved while running. */
  saveEveryMs?: number;
}

/** The position is kept a week: VK keeps long poll history far shorter, an older one is answered with a fresh ts. */
const TS_TTL_SECONDS = 7 * 24 * 3600;

/** vk-io keeps the long poll position in a protected field; reading and presetting it is what "resume" needs. */
interface PollingPosition {
  ts: string | number;
}
const positionOf = (t: PollingTransport): PollingPosition => t as unknown as PollingPosition;

/**
 * Starts the channel. Callback API (VK_CALLBACK_SECRET and VK_CONFIRMATION_CODE set): VK POSTs
 * updates to /vk/callback of the api role (api/routes/vk-callback.routes.ts), nothing to start
 * here. Otherwise Bots Long Poll with vk-io's PollingTransport (what `vk.updates.start()`
 * runs, used directly so each raw update, with its event_id, goes through `bot.accept`).
 * The poll resumes from the position saved at the last stop, so messages sent while no bots
 * process ran are read too (within VK's long poll history); updates read twice are dropped by
 * the bot's event_id guard.
 */
export async function startVk(deps: StartVkDeps): Promise<VkHandle> {
  const { bot, config, logger } = deps;
  if (config.mode.kind === 'callback') return { mode: 'callback', stop: async () => undefined };

  const agent = vkAgent();
  const transport = new PollingTransport({ api: bot.vk.api, agent, pollingGroupId: config.groupId, pollingWait: 3000, pollingRetryLimit: 3 });
  transport.subscribe((update: unknown) => {
    bot.accept(update).catch((err: unknown) => logger.error({ err }, 'vk: long poll update not taken'));
  });
  const key = deps.redis ? `${deps.prefix ?? 'loyalty'}:vk:lp-ts:${config.groupId}` : undefined;
  const save = async (): Promise<void> => {
    const ts = positionOf(transport).ts;
    if (!deps.redis || !key || !ts) return;
    await deps.redis.set(key, String(ts), 'EX', TS_TTL_SECONDS).catch((err: unknown) => logger.warn({ err }, 'vk: could not save the long poll position'));
  };
  if (deps.redis && key) {
    const saved = await deps.redis.get(key).catch(() => null);
    // vk-io takes the server's ts only while its own is 0.
    if (saved) positionOf(transport).ts = saved;
  }
  await transport.start();
  logger.info({ groupId: config.groupId }, 'vk: long poll');
  const timer = setInterval(() => void save(), deps.saveEveryMs ?? 10_000);
  timer.unref();

  let stopped: Promise<void> | undefined;
  return {
    mode: 'longpoll',
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await transport.stop();
        // Ends the poll request in flight now instead of when VK answers it (up to 25 s).
        agent.destroyAll();
        await bot.drain(deps.drainTimeoutMs ?? 5000);
        await save();
      })();
      return stopped;
    },
  };
}
