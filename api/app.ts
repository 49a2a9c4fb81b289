import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Bot } from 'grammy';
import type { Core } from '../core/core.js';
import { hashKey } from '../core/stores/store.repository.js';
import type { Redis } from '../infra/redis.js';
import { authPlugin, bearerToken } from './plugins/auth.plugin.js';
import { registerErrorHandler } from './plugins/errors.plugin.js';
import { swaggerPlugin } from './plugins/swagger.plugin.js';
import { cardAdminRoutes } from './routes/card-admin.routes.js';
import { cardRoutes } from './routes/cards.routes.js';
import { contestAdminRoutes, contestPublicRoutes } from './routes/contests.routes.js';
import { healthRoutes, type HealthChecks } from './routes/health.routes.js';
import { memberRoutes } from './routes/members.routes.js';
import { joinRoutes } from './routes/join.routes.js';
import { partnerRoutes } from './routes/partners.routes.js';
import type { JoinLimiter, JoinLimits } from '../core/enrolment/web-join.service.js';
import { createI18n } from '../core/i18n/i18n.js';
import { createRedisRateLimiter } from '../infra/redis-rate.js';
import { purchaseRoutes } from './routes/purchases.routes.js';
import { settingsRoutes } from './routes/settings.routes.js';
import type { Wallet } from '../core/wallet/wallet.service.js';
import { passkitRoutes, PASSKIT_PREFIX } from './routes/passkit.routes.js';
import { storeRoutes } from './routes/stores.routes.js';
import { walletAdminRoutes } from './routes/wallet-admin.routes.js';
import { walletRoutes } from './routes/wallet.routes.js';
import { telegramWebhookRoutes } from './routes/telegram-webhook.routes.js';
import { vkCallbackRoutes, type VkCallbackDeps } from './routes/vk-callback.routes.js';
import type { InsightJobs } from '../core/insight/insight.jobs.js';
import { exportRoutes } from './routes/exports.routes.js';
import { importRoutes } from './routes/imports.routes.js';
import { reportRoutes } from './routes/reports.routes.js';
import { segmentRoutes } from './routes/segments.routes.js';
import { broadcastRoutes } from './routes/broadcasts.routes.js';
import { actorOf, userRoutes } from './routes/users.routes.js';
import { panelPlugin } from './panel/panel.plugin.js';
import type { PanelOptions } from './panel/panel.types.js';

export interface AppDeps {
  logger: FastifyBaseLogger;
  health: HealthChecks;
  /** The wired domain; without it only health, docs and 404s are served. */
  core?: Core;
  /** Bearer token of the admin API; without one every admin request is 401. */
  adminToken?: string;
  /** Look-up rate limits are counted here when given (shared by every API process), else in memory. */
  redis?: Redis;
  /** Look-ups (GET /api/v1/cards…, quotes, till enrolments) allowed per store key and window; default 120 per minute. */
  lookupRateLimit?: { max: number; timeWindowMs: number; nameSpace?: string };
  /** Unauthenticated routes (public contest records, Wallet device logs) allowed per client address and window; default 60 per minute. */
  publicRateLimit?: { max: number; timeWindowMs: number };
  /** Apple Wallet: distribution links, the PassKit web service, admin wallet links. */
  wallet?: Wallet | undefined;
  /** Telegram in webhook mode: POST /telegram/webhook, checked against the secret. */
  telegramWebhook?: { bot: Bot; secret: string };
  /** VK in Callback API mode: POST /vk/callback, checked against the secret and the community id. */
  vkCallback?: VkCallbackDeps;
  /** Imports and the audience pass run on the worker role through these; without them, in this process. */
  insightJobs?: InsightJobs;
  /** Largest import file accepted (IMPORT_MAX_BYTES); default 100 MiB. */
  importMaxBytes?: number;
  /** The public join page (/join): the bots to link to, PUBLIC_URL, and its attempt limits (tests lower them). */
  joinPage?: { publicUrl?: string | undefined; links?: { telegramBot?: string | undefined; vkCommunity?: string | undefined }; limits?: JoinLimits };
  /** The staff web panel at /admin (needs the core); without it, /admin is not served. */
  panel?: PanelOptions;
}

const REQUEST_ID_RE = /^[\w.-]{8,128}$/;

/** The HTTP app as a plugin tree: swagger → error handling → health → auth → feature routes. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    // A caller's X-Request-Id is kept when sane (so a till's id shows in our logs), else a UUID.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    bodyLimit: 256 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  // Route schemas are zod: they validate requests, shape responses and generate OpenAPI.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  await app.register(swaggerPlugin);
  // Cookies: the panel's session (also accepted by the admin API for owners) and language.
  await app.register(cookie);
  registerErrorHandler(app);
  await app.register(healthRoutes(deps.health));
  if (deps.telegramWebhook) await app.register(telegramWebhookRoutes(deps.telegramWebhook));
  if (deps.vkCallback) await app.register(vkCallbackRoutes(deps.vkCallback));
  if (deps.core) await registerApi(app, deps.core, deps);
  return app;
}

async function registerApi(app: FastifyInstance, core: Core, deps: AppDeps): Promise<void> {
  const { admin } = core;
  const limit = deps.lookupRateLimit ?? { max: 120, timeWindowMs: 60_000 };
  await app.register(rateLimit, {
    global: false,
    ...(deps.redis ? { redis: deps.redis } : {}),
    nameSpace: limit.nameSpace ?? 'loyalty:rate:',
    // A Redis outage must not stop the tills: look-ups go on unlimited until it is back.
    skipOnError: true,
  });
  // One budget per store key for all look-ups, counted under the key's hash (raw keys are never written anywhere).
  const lookupLimit = app.rateLimit({
    max: limit.max,
    timeWindow: limit.timeWindowMs,
    keyGenerator: (req: FastifyRequest) => `store:${hashKey(bearerToken(req) ?? '')}`,
  });
  // Routes anyone may call: a budget per client address (behind a proxy, set fastify's trustProxy so req.ip is the client's).
  const publicLimits = deps.publicRateLimit ?? { max: 60, timeWindowMs: 60_000 };
  const publicLimit = app.rateLimit({ max: publicLimits.max, timeWindow: publicLimits.timeWindowMs, keyGenerator: (req: FastifyRequest) => `ip:${req.ip}` });
  await app.register(authPlugin, { stores: core.stores, adminToken: deps.adminToken, sessions: deps.panel ? core.sessions : undefined });
  const i18n = await createI18n();
  // Join attempts are counted in Redis when there is one (every api process shares it); if
  // Redis fails, in MongoDB rather than not at all.
  const redisLimiter = deps.redis ? createRedisRateLimiter(deps.redis, limit.nameSpace ?? 'loyalty:rate:') : null;
  const joinLimiter: JoinLimiter = {
    hit: async (scope, key, l) => (redisLimiter ? redisLimiter.hit(scope, key, l).catch(() => core.rates.hit(scope, key, l)) : core.rates.hit(scope, key, l)),
  };
  const wallet = deps.wallet;
  const webJoin = core.webJoin({ limiter: joinLimiter, ...(deps.joinPage?.limits ? { limits: deps.joinPage.limits } : {}) });
  await app.register(
    joinRoutes({
      webJoin,
      i18n,
      settings: () => core.settings.current(),
      walletLink: wallet ? (n: string) => wallet.linkFor(n) : undefined,
      links: deps.joinPage?.links ?? {},
      publicUrl: deps.joinPage?.publicUrl,
      pageLimit: publicLimit,
    }),
  );
  if (deps.wallet) {
    await app.register(walletRoutes({ wallet: deps.wallet }));
    // Device logs: unauthenticated, so a stricter budget per address than the other public routes.
    const logLimit = app.rateLimit({ max: 10, timeWindow: 60_000, keyGenerator: (req: FastifyRequest) => `walletlog:${req.ip}` });
    await app.register(passkitRoutes({ wallet: deps.wallet, logLimit }), { prefix: PASSKIT_PREFIX });
  }

  await app.register(
    async (api) => {
      await api.register(async (till) => {
        till.addHook('onRequest', till.authenticateStore);
        // Look-ups, quotes and enrolments each answer what a card or phone holds: one budget per store key.
        await till.register(cardRoutes({ core, lookupLimit }));
        await till.register(purchaseRoutes({ core, lookupLimit }));
        await till.register(memberRoutes({ admin, who: 'till', limit: lookupLimit }));
      });
      // Public contest records (no auth) and the contests' admin routes behind the admin token.
      await api.register(contestPublicRoutes({ contests: core.contests, publicLimit }));
      await api.register(
        async (adm) => {
          adm.addHook('onRequest', adm.authenticateAdmin);
          // Every change made through the admin API is in the audit log (the user routes write their own, richer entries).
          adm.addHook('onResponse', async (req, reply) => {
            if (req.method === 'GET' || req.method === 'HEAD' || reply.statusCode >= 400 || req.routeOptions.url?.startsWith('/api/v1/admin/users')) return;
            const params = req.params as Record<string, string> | undefined;
            await core.audit
              .record({ ...actorOf(req.adminActor), action: `api ${req.method} ${req.routeOptions.url ?? ''}`, target: params?.id ?? params?.number ?? null, ip: req.ip })
              .catch((err: unknown) => req.log.error({ err }, 'audit entry not written'));
          });
          await adm.register(userRoutes({ core }));
          await adm.register(storeRoutes({ admin, i18n, publicUrl: deps.joinPage?.publicUrl }));
          await adm.register(partnerRoutes({ partners: core.partners }));
          await adm.register(memberRoutes({ admin, who: 'admin' }));
          await adm.register(settingsRoutes({ core }));
          await adm.register(cardAdminRoutes({ core }));
          await adm.register(contestAdminRoutes({ contests: core.contests }));
          if (deps.wallet) await adm.register(walletAdminRoutes({ core, wallet: deps.wallet }));
          await adm.register(importRoutes({ core, jobs: deps.insightJobs, maxBytes: deps.importMaxBytes ?? 100 * 1024 * 1024 }));
          await adm.register(segmentRoutes({ core, jobs: deps.insightJobs }));
          await adm.register(reportRoutes({ core }));
          await adm.register(exportRoutes({ core }));
          await adm.register(broadcastRoutes({ core }));
        },
        { prefix: '/admin' },
      );
    },
    { prefix: '/api/v1' },
  );
  if (deps.panel) await app.register(panelPlugin({ core, wallet: deps.wallet, insightJobs: deps.insightJobs, importMaxBytes: deps.importMaxBytes ?? 100 * 1024 * 1024, redis: deps.redis, ...deps.panel }), { prefix: '/admin' });
}
