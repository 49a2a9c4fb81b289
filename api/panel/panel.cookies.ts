import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PanelConfig } from '../../core/config.js';

export const SESSION_COOKIE = 'lb_session';
export const LANG_COOKIE = 'lb_lang';
/** Double-submit token of the sign-in form (there is no session yet to hold one). */
export const LOGIN_CSRF_COOKIE = 'lb_login';
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

/** Secure cookies when configured so, or (auto) when the panel is served over https. */
export function secureCookies(req: FastifyRequest, cfg: Pick<PanelConfig, 'secureCookie'>, publicUrl: string | undefined): boolean {
  if (cfg.secureCookie !== 'auto') return cfg.secureCookie;
  return req.protocol === 'https' || (publicUrl?.startsWith('https://') ?? false);
}

export function setSessionCookie(reply: FastifyReply, token: string, opts: { secure: boolean; maxAgeS: number }): void {
  reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'strict', secure: opts.secure, maxAge: opts.maxAgeS });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure });
}
