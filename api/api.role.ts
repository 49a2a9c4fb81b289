import type { FastifyInstance } from 'fastify';
import type { Channels } from '../bots/channels.js';
import { startTelegram } from '../bots/telegram/telegram.runner.js';
import type { Config } from '../core/config.js';
import type { Core } from '../core/core.js';
import type { Wallet } from '../core/wallet/wallet.service.js';
import type { Logger } from '../infra/logger.js';
import type { Redis } from '../infra/redis.js';
import type { RoleHandle } from '../infra/role.js';
import { buildApp } from './app.js';
import type { InsightJobs } from '../core/insight/insight.jobs.js';
import type { I18n } from '../core/i18n/i18n.js';

export interface ApiRoleDeps {
  config: Pick<Config, 'telegram' | 'vk' | 'http' | 'queuePrefix' | 'insight' | 'panel'>;
  /** The web panel's texts (locales/). */
  i18n: I18n;
  /** Enqueues imports and the audience pass (the worker role runs them). */
  insightJobs: InsightJobs;
  logger: Logger;
  core: Core;
  wallet?: Wallet | undefined;
  adminToken: string;
  /** Look-up rate limits are counted here, shared by every api process. */
  redis: Redis;
  /** Readiness checks for /readyz. */
  health: Record<string, () => Promise<void>>;
}

export async function buildRoleApp(deps: ApiRoleDeps, channels?: Channels): Promise<FastifyInstance> {
  const tg = deps.config.telegram;
  const webhook = tg.enabled && tg.mode.kind === 'webhook' && channels?.telegram ? { bot: channels.telegram.bot, secret: tg.mode.secret } : undefined;
  const vk = deps.config.vk;
  const vkCallback =
    vk.enabled && vk.mode.kind === 'callback' && channels?.vk
      ? { bot: channels.vk.bot, groupId: vk.groupId, secret: vk.mode.secret, confirmation: vk.mode.confirmation }
      : undefined;
  return buildApp({
    ...(webhook ? { telegramWebhook: webhook } : {}),
    ...(vkCallback ? { vkCallback } : {}),
    logger: deps.logger,
    health: { checks: deps.health },
    core: deps.core,
    wallet: deps.wallet,
    adminToken: deps.adminToken,
    // Shared by every api process, so the limit holds per store key across the chain.
    redis: deps.redis,
    lookupRateLimit: { max: 120, timeWindowMs: 60_000, nameSpace: `${deps.config.queuePrefix}:rate:` },
    insightJobs: deps.insightJobs,
    importMaxBytes: deps.config.insight.importMaxBytes,
    joinPage: { publicUrl: deps.config.http.publicUrl, links: { telegramBot: channels?.telegram?.username, vkCommunity: channels?.vk?.community } },
    panel: { i18n: deps.i18n, config: deps.config.panel, publicUrl: deps.config.http.publicUrl, redisPrefix: `${deps.config.queuePrefix}:panel:` },
  });
}

/** The `api` role: the HTTP server on HOST:PORT. */
export async function startApi(deps: ApiRoleDeps, channels?: Channels): Promise<RoleHandle & { app: FastifyInstance; url: string }> {
  const app = await buildRoleApp(deps, channels);
  const url = await app.listen({ host: deps.config.http.host, port: deps.config.http.port });
  // The panel's name search on the embedded store reads from memory: built now, in the background.
  deps.core.directory.warmUp().catch((err: unknown) => deps.logger.warn({ err }, 'member name index: not built; name search reads the store'));
  const tg = deps.config.telegram;
  // The webhook is registered once this server can receive it.
  if (tg.enabled && tg.mode.kind === 'webhook' && channels?.telegram) {
    await startTelegram({ bot: channels.telegram.bot, config: tg, logger: deps.logger, i18n: channels.i18n });
  }
  return {
    app,
    url,
    summary: [`HTTP: listening on ${url} (health ${url}/healthz, readiness ${url}/readyz, API docs ${url}/docs, staff panel ${url}/admin)`],
    close: () => app.close(),
  };
}
