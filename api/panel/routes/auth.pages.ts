import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { isLanguage } from '../../../core/i18n/i18n.js';
import { DomainError } from '../../../core/shared/errors.js';
import { sameSecret } from '../../../core/shared/secrets.js';
import type { LoginThrottle } from '../../../core/users/login-throttle.js';
import { clearSessionCookie, CSRF_FIELD, LANG_COOKIE, LOGIN_CSRF_COOKIE, secureCookies, SESSION_COOKIE, setSessionCookie } from '../panel.cookies.js';
import { panelOf } from '../panel.context.js';
import { homeFor } from '../panel.nav.js';
import type { PanelContext } from '../panel.types.js';

/** Only a path inside the panel: `next` must never send anyone to another site. */
export function safeNext(next: unknown, fallback: string): string {
  return typeof next === 'string' && /^\/admin(?:[/?#]|$)/.test(next) && !next.includes('//') && !next.includes('\\') ? next : fallback;
}

interface LoginBody {
  email?: string;
  password?: string;
  next?: string;
  [CSRF_FIELD]?: string;
}

/** Sign in and out, the language switch and the account page. */
export function authPages(ctx: PanelContext, throttle: LoginThrottle): FastifyPluginAsync {
  const { core, render } = ctx;
  const secure = (req: FastifyRequest) => secureCookies(req, ctx.config, ctx.publicUrl);

  async function loginForm(req: FastifyRequest, reply: FastifyReply, data: { email?: string; next?: string; error?: string; field?: string }, status = 200) {
    // A fresh double-submit token per form: the sign-in form has no session to hold one yet.
    const token = randomBytes(18).toString('base64url');
    reply.setCookie(LOGIN_CSRF_COOKIE, token, { path: '/admin/login', httpOnly: true, sameSite: 'strict', secure: secure(req), maxAge: 3600 });
    return render(req, reply, 'login', { loginCsrf: token, values: { email: data.email ?? '', next: data.next ?? '' }, errors: data.error ? { [data.field ?? 'form']: data.error } : {} }, status);
  }

  return async (app) => {
    app.get<{ Querystring: { next?: string } }>('/login', async (req, reply) => {
      const session = panelOf(req).session;
      if (session) return reply.redirect(safeNext(req.query.next, homeFor(session.user.role)), 303);
      return loginForm(req, reply, { next: safeNext(req.query.next, '') });
    });

    app.post<{ Body: LoginBody }>('/login', async (req, reply) => {
      const body = req.body;
      const email = typeof body.email === 'string' ? body.email.trim().slice(0, 254) : '';
      const password = typeof body.password === 'string' ? body.password : '';
      const next = safeNext(body.next, '');
      const cookie = req.cookies[LOGIN_CSRF_COOKIE];
      if (!cookie || typeof body[CSRF_FIELD] !== 'string' || !sameSecret(body[CSRF_FIELD], cookie)) {
        return loginForm(req, reply, { email, next, error: 'csrf_failed' }, 403);
      }
      if (!email || !password) return loginForm(req, reply, { email, next, error: 'invalid_credentials', field: email ? 'password' : 'email' }, 400);
      if (await throttle.blocked(email, req.ip)) {
        await ctx.audit(req, { action: 'login.throttled', target: email });
        return loginForm(req, reply, { email, next, error: 'login_throttled' }, 429);
      }
      const user = await core.users.authenticate(email, password);
      if (!user) {
        await throttle.failed(email, req.ip);
        await ctx.audit(req, { action: 'login.failed', target: email });
        return loginForm(req, reply, { email, next, error: 'invalid_credentials', field: 'password' }, 401);
      }
      await throttle.succeeded(email);
      const s = await core.sessions.start(user);
      setSessionCookie(reply, s.token, { secure: secure(req), maxAgeS: Math.floor(core.sessions.policy.maxMs / 1000) });
      reply.clearCookie(LOGIN_CSRF_COOKIE, { path: '/admin/login' });
      await core.audit.record({ actor: user.email, actorId: user.id, action: 'login', target: user.email, ip: req.ip });
      return reply.redirect(safeNext(next, homeFor(user.role)), 303);
    });

    app.post('/logout', { preHandler: ctx.guard(null) }, async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token) await core.sessions.end(token);
      await ctx.audit(req, { action: 'logout' });
      clearSessionCookie(reply, secure(req));
      return reply.redirect('/admin/login', 303);
    });

    app.get<{ Params: { lang: string }; Querystring: { back?: string } }>('/lang/:lang', async (req, reply) => {
      if (!isLanguage(req.params.lang)) throw new DomainError('not_found', 'no such language');
      reply.setCookie(LANG_COOKIE, req.params.lang, { path: '/', sameSite: 'lax', secure: secure(req), maxAge: 365 * 86400 });
      return reply.redirect(safeNext(req.query.back, '/admin'), 303);
    });

    app.get('/account', { preHandler: ctx.guard(null) }, async (req, reply) => render(req, reply, 'account', { title: 'panel:account.title' }));
  };
}
