import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import view from '@fastify/view';
import { Eta } from 'eta';
import { join } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { can } from '../../core/access/access.policy.js';
import { isLanguage, type I18n, type Language } from '../../core/i18n/i18n.js';
import { DomainError } from '../../core/shared/errors.js';
import { sameSecret } from '../../core/shared/secrets.js';
import { createLoginThrottle } from '../../core/users/login-throttle.js';
import { memoryCounters, redisCounters } from '../../infra/redis-counters.js';
import { STATUS } from '../plugins/errors.plugin.js';
import { registerAssets } from './panel.assets.js';
import { CSRF_FIELD, CSRF_HEADER, LANG_COOKIE, SESSION_COOKIE } from './panel.cookies.js';
import { createRenderer, isHtmx, panelOf } from './panel.context.js';
import type { PanelContext, PanelDeps } from './panel.types.js';
import { authPages } from './routes/auth.pages.js';
import { broadcastPages } from './routes/broadcasts.pages.js';
import { adminPages } from './routes/admin.pages.js';
import { contestPages } from './routes/contests.pages.js';
import { dashboardPages } from './routes/dashboard.pages.js';
import { importPages } from './routes/imports.pages.js';
import { memberPages } from './routes/members.pages.js';
import { reportPages } from './routes/reports.pages.js';
import { segmentPages } from './routes/segments.pages.js';
import { settingsPages } from './routes/settings.pages.js';
import { walletPages } from './routes/wallet.pages.js';
import { tillPages } from './routes/till.pages.js';

export const VIEWS_DIR = join(import.meta.dirname, 'views');

/** The language of a request: the switch's cookie, else the browser's first Accept-Language tag. */
function languageOf(req: FastifyRequest, i18n: I18n): Language {
  const chosen = req.cookies[LANG_COOKIE];
  if (isLanguage(chosen)) return chosen;
  const first = req.headers['accept-language']?.split(',')[0]?.split(';')[0]?.trim();
  return i18n.pickLanguage(first);
}

/** The staff web panel at /admin: server-rendered pages over core, each action also in the admin API. */
export function panelPlugin(deps: PanelDeps): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    await app.register(formbody, { bodyLimit: 256 * 1024 });
    await app.register(multipart, { limits: { fileSize: deps.importMaxBytes, files: 1, fields: 50 } });
    await app.register(view, { engine: { eta: new Eta({ cache: true }) }, root: VIEWS_DIR, production: true, viewExt: 'eta' });
    registerAssets(app);
    const { core, i18n } = deps;
    const render = createRenderer(i18n);
    const throttle = createLoginThrottle(deps.redis ? redisCounters(deps.redis, deps.redisPrefix ?? 'loyalty:panel:') : memoryCounters(), deps.throttle);

    app.decorateRequest('panel', null);
    app.addHook('onRequest', async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      const session = token ? await core.sessions.resume(token) : null;
      req.panel = { lang: languageOf(req, i18n), session };
      // Pages carry personal data and tokens: never cached, never framed.
      reply.header('cache-control', 'no-store').header('x-frame-options', 'DENY').header('x-content-type-options', 'nosniff').header('referrer-policy', 'same-origin');
    });

    // The synchronizer token: every change carries the session's CSRF token (a form field or htmx's header).
    app.addHook('preHandler', async (req) => {
      if (req.method === 'GET' || req.method === 'HEAD' || req.url.startsWith('/admin/login')) return;
      const session = panelOf(req).session;
      if (!session) return; // the route's guard sends the visitor to sign in
      // Multipart bodies are streamed: the upload route checks the token itself (its first field).
      if (req.isMultipart()) return;
      const sent = req.headers[CSRF_HEADER] ?? (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
      if (typeof sent !== 'string' || !sameSecret(sent, session.csrf)) throw new DomainError('csrf_failed', 'missing or wrong CSRF token');
    });

    async function audit(req: FastifyRequest, entry: { action: string; target?: string | null; before?: unknown; after?: unknown }): Promise<void> {
      const user = panelOf(req).session?.user;
      await core.audit.record({ actor: user?.email ?? 'anonymous', actorId: user?.id ?? null, ip: req.ip, ...entry });
    }

    const ctx: PanelContext = {
      ...deps,
      render,
      audit,
      guard: (action) => async (req, reply) => {
        const session = panelOf(req).session;
        if (!session) {
          const next = encodeURIComponent(req.url);
          if (isHtmx(req)) {
            await reply.header('hx-redirect', `/admin/login?next=${next}`).code(401).send();
            return;
          }
          await reply.redirect(`/admin/login?next=${next}`, 303);
          return;
        }
        if (action && !can(session.user.role, action)) {
          await audit(req, { action: 'access.refused', target: `${req.method} ${req.url.split('?')[0] ?? ''}`, after: { role: session.user.role, wanted: action } });
          throw new DomainError('forbidden', `the ${session.user.role} role may not ${action}`, { action });
        }
      },
    };

    app.setErrorHandler(async (err: Error, req, reply) => {
      const status = err instanceof DomainError ? STATUS[err.code] : ((err as { statusCode?: number }).statusCode ?? 500);
      const code = err instanceof DomainError ? err.code : status === 413 ? 'file_too_large' : status < 500 ? 'validation_failed' : null;
      if (status >= 500) req.log.error({ err }, 'panel error');
      if (status === 401 && !panelOf(req).session) return reply.redirect('/admin/login', 303);
      return render(req, reply, isHtmx(req) ? 'partials/error-inline' : 'error', { status, code }, status);
    });
    app.setNotFoundHandler(async (req, reply) => render(req, reply, 'error', { status: 404, code: 'not_found' }, 404));

    await app.register(authPages(ctx, throttle));
    await app.register(dashboardPages(ctx));
    await app.register(broadcastPages(ctx));
    await app.register(memberPages(ctx));
    await app.register(contestPages(ctx));
    await app.register(adminPages(ctx));
    await app.register(settingsPages(ctx));
    await app.register(segmentPages(ctx));
    await app.register(reportPages(ctx));
    await app.register(importPages(ctx));
    await app.register(walletPages(ctx));
    await app.register(tillPages(ctx));
  };
}
