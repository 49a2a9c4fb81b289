import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../infra/runtime.js';
import { pingMongo } from '../infra/mongo.js';
import { pingRedis } from '../infra/redis.js';
import { buildApp } from './app.js';
import type { Channels } from '../bots/channels.js';
import { startTelegram } from '../bots/telegram/telegram.runner.js';
import { insightJobsClient } from '../workers/insight/insight.jobs.js';

export interface RoleHandle {
  summary: string[];
  close(): Promise<void>;
}

export async function buildRuntimeApp(rt: Runtime, channels?: Channels): Promise<FastifyInstance> {
  const tg = rt.config.telegram;
  const webhook = tg.enabled && tg.mode.kind === 'webhook' && channels?.telegram ? { bot: channels.telegram.bot, secret: tg.mode.secret } : undefined;
  const vk = rt.config.vk;
  const vkCallback =
    vk.enabled && vk.mode.kind === 'callback' && channels?.vk
      ? { bot: channels.vk.bot, groupId: vk.groupId, secret: vk.mode.secret, confirmation: vk.mode.confirmation }
      : undefined;
  return buildApp({
    ...(webhook ? { telegramWebhook: webhook } : {}),
    ...(vkCallback ? { vkCallback } : {}),
    logger: rt.logger,
    health: { checks: { mongo: () => pingMongo(rt.mongo), redis: () => pingRedis(rt.redis) } },
    core: rt.core,
    mongo: rt.mongo,
    wallet: rt.wallet?.wallet,
    adminToken: rt.adminToken,
    // Shared by every api process, so the limit holds per store key across the chain.
    redis: rt.redis,
    lookupRateLimit: { max: 120, timeWindowMs: 60_000, nameSpace: `${rt.config.queuePrefix}:rate:` },
    insightJobs: insightJobsClient(rt.queues),
    importMaxBytes: rt.config.insight.importMaxBytes,
  });
}

/** The `api` role: the HTTP server on HOST:PORT. */
export async function startApi(rt: Runtime, channels?: Channels): Promise<RoleHandle & { app: FastifyInstance; url: string }> {
  const app = await buildRuntimeApp(rt, channels);
  const url = await app.listen({ host: rt.config.http.host, port: rt.config.http.port });
  const tg = rt.config.telegram;
  // The webhook is registered once this server can receive it.
  if (tg.enabled && tg.mode.kind === 'webhook' && channels?.telegram) {
    await startTelegram({ bot: channels.telegram.bot, config: tg, logger: rt.logger, i18n: channels.i18n });
  }
  return {
    app,
    url,
    summary: [`HTTP: listening on ${url} (health ${url}/healthz, readiness ${url}/readyz, API docs ${url}/docs)`],
    close: () => app.close(),
  };
}
