import { run, type RunnerHandle } from '@grammyjs/runner';
import type { Bot, Transformer } from 'grammy';
import type { Update } from 'grammy/types';
import type { I18n } from '../../core/i18n/i18n.js';
import type { Logger } from '../../infra/logger.js';
import { ALLOWED_UPDATES, type EnabledTelegramConfig } from './telegram.bot.js';
import { setTelegramCommands } from './telegram.commands.js';

export interface TelegramHandle {
  mode: 'polling' | 'webhook';
  /** Polling: stop fetching, let running updates finish, confirm them to Telegram. Webhook: nothing to stop here (the HTTP route drains). */
  stop(): Promise<void>;
}

export interface StartTelegramDeps {
  bot: Bot;
  config: EnabledTelegramConfig;
  logger: Logger;
  /** Publishes the localized command menu at start when given. */
  i18n?: I18n;
  /** How long stop() waits for running updates (polling). */
  drainTimeoutMs?: number;
}

/**
 * Starts the channel. Polling (the default): @grammyjs/runner fetches updates and handles
 * chats concurrently (the bot sequentializes each chat). Webhook: registers
 * `config.mode.url` with the secret; updates then arrive at POST /telegram/webhook of the API
 * process (api/routes/telegram-webhook.routes.ts). Fails when the token is refused.
 */
export async function startTelegram(deps: StartTelegramDeps): Promise<TelegramHandle> {
  const { bot, config, logger } = deps;
  await bot.init();
  if (deps.i18n) {
    // The command menu is cosmetic: a failure to publish it must not keep the bot down.
    await setTelegramCommands(bot.api, deps.i18n).catch((err: unknown) => logger.warn({ err }, 'telegram: setMyCommands failed'));
  }
  if (config.mode.kind === 'webhook') {
    await bot.api.setWebhook(config.mode.url, { secret_token: config.mode.secret, allowed_updates: [...ALLOWED_UPDATES] });
    logger.info({ bot: bot.botInfo.username }, 'telegram: webhook set');
    return { mode: 'webhook', stop: async () => undefined };
  }
  return startPolling(bot, logger, deps.drainTimeoutMs ?? 5000);
}

async function startPolling(bot: Bot, logger: Logger, drainTimeoutMs: number): Promise<TelegramHandle> {
  // getUpdates answers 409 while a webhook is set.
  await bot.api.deleteWebhook();
  let lastUpdateId: number | undefined;
  let stopping = false;
  const watchUpdates: Transformer = async (prev, method, payload, signal) => {
    try {
      const res = await prev(method, payload, signal);
      if (method === 'getUpdates' && res.ok) {
        for (const u of res.result as Update[]) lastUpdateId = Math.max(lastUpdateId ?? u.update_id, u.update_id);
      }
      return res;
    } catch (err) {
      if (method === 'getUpdates' && !stopping) logger.warn({ err }, 'telegram: getUpdates failed, retrying');
      throw err;
    }
  };
  bot.api.config.use(watchUpdates);

  const handle: RunnerHandle = run(bot, { runner: { fetch: { allowed_updates: [...ALLOWED_UPDATES] }, silent: true } });
  void handle.task()?.catch((err: unknown) => logger.error({ err }, 'telegram: polling stopped'));
  logger.info({ bot: bot.botInfo.username }, 'telegram: polling');

  let stopped: Promise<void> | undefined;
  return {
    mode: 'polling',
    stop() {
      stopped ??= (async () => {
        stopping = true;
        await handle.stop();
        const deadline = Date.now() + drainTimeoutMs;
        while (handle.size() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        if (handle.size() > 0) logger.warn({ running: handle.size() }, 'telegram: stopped with updates still running');
        // Confirms what was handled, as bot.stop() does, so the next start does not get it again.
        if (lastUpdateId !== undefined) {
          await bot.api.getUpdates({ offset: lastUpdateId + 1, limit: 1, timeout: 0 }).catch((err: unknown) => logger.warn({ err }, 'telegram: could not confirm the last updates'));
        }
      })();
      return stopped;
    },
  };
}
