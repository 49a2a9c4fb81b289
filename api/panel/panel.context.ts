import type { FastifyReply, FastifyRequest } from 'fastify';
import { can, type Action } from '../../core/access/access.policy.js';
import type { I18n, Language } from '../../core/i18n/i18n.js';
import type { ActiveSession } from '../../core/sessions/session.service.js';
import { DomainError } from '../../core/shared/errors.js';
import type { StaffUser } from '../../core/users/user.repository.js';
import { navFor } from './panel.nav.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The panel's view of the request: language and the signed-in session (null before sign-in). */
    panel: { lang: Language; session: ActiveSession | null } | null;
  }
}

export function panelOf(req: FastifyRequest): { lang: Language; session: ActiveSession | null } {
  return req.panel ?? { lang: 'ru', session: null };
}

/** The signed-in user of a guarded route. */
export function userOf(req: FastifyRequest): StaffUser {
  const s = panelOf(req).session;
  if (!s) throw new DomainError('unauthorized', 'sign in first');
  return s.user;
}

/** Values for the templates: numbers, dates and money in the page's language. */
export function formatters(lang: Language) {
  const locale = lang === 'ru' ? 'ru-RU' : 'en-GB';
  const num = new Intl.NumberFormat(locale);
  const dt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
  const d = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
  return {
    num: (n: number | null | undefined) => (n === null || n === undefined ? '—' : num.format(n)),
    rub: (kopecks: number | null | undefined) => (kopecks === null || kopecks === undefined ? '—' : `${num.format(Math.round(kopecks) / 100)} ₽`),
    dateTime: (v: Date | string | null | undefined) => (v ? dt.format(new Date(v)) : '—'),
    date: (v: Date | string | null | undefined) => (v ? d.format(new Date(v)) : '—'),
    json: (v: unknown) => (v === null || v === undefined ? '' : JSON.stringify(v)),
  };
}

export interface FieldErrors {
  [field: string]: string;
}

export type Renderer = (req: FastifyRequest, reply: FastifyReply, template: string, data?: Record<string, unknown>, status?: number) => Promise<FastifyReply>;

/** Renders a template with what every page needs: t(), the language, the user, the CSRF token, the nav. */
export function createRenderer(i18n: I18n): Renderer {
  return async (req, reply, template, data = {}, status = 200) => {
    const { lang, session } = panelOf(req);
    const user = session?.user ?? null;
    const html = await reply.viewAsync(template, {
      errors: {},
      values: {},
      ...data,
      t: (key: string, opts?: Record<string, unknown>) => i18n.t(lang, key, opts),
      // A field's message: the panel's own form messages first, else the domain error's text.
      err: (code: string | undefined) => (code ? i18n.t(lang, `panel:errors.${code}`, { defaultValue: '' }) || i18n.t(lang, `common:errors.${code}`) : null),
      lang,
      user,
      csrf: session?.csrf ?? '',
      nav: user ? navFor(user.role) : [],
      can: (action: Action) => (user ? can(user.role, action) : false),
      path: req.url.split('?')[0] ?? '',
      fmt: formatters(lang),
    });
    return reply.code(status).type('text/html; charset=utf-8').send(html);
  };
}

/** Whether the request came from htmx (a fragment answers it, not a whole page). */
export const isHtmx = (req: FastifyRequest): boolean => req.headers['hx-request'] === 'true';
