import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import QRCode from 'qrcode';
import { z } from 'zod';
import type { WebJoin } from '../../core/enrolment/web-join.service.js';
import { JOIN_FORM_TTL_MS } from '../../core/enrolment/join-form.token.js';
import { DEFAULT_LANGUAGE, isLanguage, type I18n, type Language } from '../../core/i18n/i18n.js';
import { MEMBER_NAME_MAX } from '../../core/members/member-name.js';
import type { ProgrammeSettings } from '../../core/programme/settings.schema.js';
import { DomainError } from '../../core/shared/errors.js';
import { renderHeld, renderJoined, renderJoinForm } from '../pages/join.page.js';

export interface JoinRouteDeps {
  webJoin: WebJoin;
  i18n: I18n;
  settings: () => Promise<ProgrammeSettings>;
  /** The signed .pkpass link of a card, when Apple Wallet is set up. */
  walletLink?: ((cardNumber: string) => string) | undefined;
  links: { telegramBot?: string | undefined; vkCommunity?: string | undefined };
  /** PUBLIC_URL: a POST whose Origin is another site is refused; https makes the cookie Secure. */
  publicUrl?: string | undefined;
  pageLimit: preHandlerAsyncHookHandler;
}

const COOKIE = 'join_nonce';
const field = z.string().max(200).optional();
const query = z.looseObject({ ref: field, store: field, lang: field });
const body = z.looseObject({ token: field, consentVersion: field, lang: field, ref: field, store: field, phone: field, name: field, consent: field, marketing: field });

const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // No script, no outside resource, not framed, posts only to itself.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The first of the browser's languages we speak (Accept-Language order), else the default. */
export function languageOf(i18n: I18n, asked: string | undefined, acceptLanguage: string | undefined): Language {
  if (isLanguage(asked)) return asked;
  const tags = (acceptLanguage ?? '')
    .split(',')
    .map((p) => {
      const [tag = '', ...params] = p.trim().split(';');
      const q = params.map((x) => /^\s*q=([\d.]+)\s*$/.exec(x)?.[1]).find((x) => x !== undefined);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q) };
    })
    .filter((x) => x.tag !== '' && x.tag !== '*' && x.q > 0)
    .sort((a, b) => b.q - a.q);
  return tags.length > 0 ? i18n.pickLanguage(tags[0]?.tag) : DEFAULT_LANGUAGE;
}

function cookieOf(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * GET /join (?ref=<code>, ?store=<id>, ?lang=ru|en) and its form's POST: the public, mobile-first
 * join page. It renders what core.webJoin decides; the page holds no rule.
 */
export function joinRoutes(deps: JoinRouteDeps): FastifyPluginAsyncZod {
  const secure = deps.publicUrl?.startsWith('https://') ?? false;
  const ownOrigin = deps.publicUrl ? new URL(deps.publicUrl).origin : null;
  const cookie = (nonce: string): string => `${COOKIE}=${nonce}; Path=/join; Max-Age=${JOIN_FORM_TTL_MS / 1000}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;

  async function formPage(reply: FastifyReply, status: number, lang: Language, input: { ref?: string | undefined; store?: string | undefined }, extra: { error?: string; values?: { phone: string; name: string; marketing: boolean } } = {}) {
    const form = await deps.webJoin.form(input);
    const settings = await deps.settings();
    return reply
      .code(status)
      .headers(PAGE_HEADERS)
      .header('set-cookie', cookie(form.nonce))
      .send(renderJoinForm(deps.i18n, { form, lang, rulesUrl: settings.rulesUrl, ...extra }));
  }

  function errorText(lang: Language, err: DomainError): string {
    if (err.code === 'forbidden') return deps.i18n.t(lang, 'web:join.errors.form');
    if (err.code === 'rate_limited') return deps.i18n.t(lang, 'web:join.errors.rate_limited');
    if (err.code === 'phone_invalid') return deps.i18n.t(lang, 'web:join.errors.phone_invalid');
    if (err.code === 'consent_required') return deps.i18n.t(lang, 'web:join.errors.consent_required');
    if (err.details.field === 'consentVersion') return deps.i18n.t(lang, 'web:join.errors.consent_changed');
    return deps.i18n.t(lang, 'web:join.errors.name', { max: MEMBER_NAME_MAX });
  }

  async function joinedPage(lang: Language, cardNumber: string, bonusesPending: number): Promise<string> {
    const qrSvg = await QRCode.toString(cardNumber, { type: 'svg', margin: 1 });
    const links = {
      telegram: deps.links.telegramBot ? `https://t.me/${encodeURIComponent(deps.links.telegramBot)}` : null,
      vk: deps.links.vkCommunity ? `https://vk.me/${encodeURIComponent(deps.links.vkCommunity)}` : null,
    };
    return renderJoined(deps.i18n, { lang, cardNumber, qrSvg, walletUrl: deps.walletLink?.(cardNumber) ?? null, bonusesPending, links });
  }
  const STATUS: Partial<Record<string, number>> = { forbidden: 403, rate_limited: 429, consent_required: 422 };

  return async (app) => {
    // The form posts urlencoded; parsed here only (the JSON API keeps fastify's own parsers).
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8 * 1024 }, (_req, raw, done) => {
      done(null, Object.fromEntries(new URLSearchParams(raw as string)));
    });

    app.get(
      '/join',
      { preHandler: deps.pageLimit, schema: { tags: ['public'], summary: 'The public join page (HTML): phone, name, consent; ?ref=<referral code>, ?store=<store id>, ?lang=ru|en', querystring: query } },
      async (req, reply) => formPage(reply, 200, languageOf(deps.i18n, req.query.lang, req.headers['accept-language']), req.query),
    );

    app.post(
      '/join',
      { preHandler: deps.pageLimit, schema: { tags: ['public'], summary: 'The join form: a new card (HTML page with the number, QR and Apple Wallet link) or why not', body } },
      async (req, reply) => {
        const b = req.body;
        const lang = languageOf(deps.i18n, b.lang, req.headers['accept-language']);
        const keep = { ref: b.ref, store: b.store };
        const values = { phone: b.phone ?? '', name: b.name ?? '', marketing: b.marketing === 'yes' };
        const origin = req.headers.origin;
        const crossSite = req.headers['sec-fetch-site'] === 'cross-site' || (origin !== undefined && ownOrigin !== null && origin !== ownOrigin);
        let page: { status: number; html: string };
        try {
          if (crossSite) throw new DomainError('forbidden', 'cross-site form post');
          const r = await deps.webJoin.join({
            phone: values.phone,
            name: values.name,
            consent: b.consent === 'yes',
            consentVersion: b.consentVersion ?? '',
            marketing: values.marketing,
            language: lang,
            ref: b.ref,
            storeId: b.store,
            address: req.ip,
            token: b.token,
            nonce: cookieOf(req, COOKIE),
          });
          page = r.kind === 'held' ? { status: 200, html: renderHeld(deps.i18n, lang) } : { status: 201, html: await joinedPage(lang, r.cardNumber, r.bonusesPending) };
        } catch (err) {
          if (!(err instanceof DomainError)) throw err;
          return formPage(reply, STATUS[err.code] ?? 400, lang, keep, { error: errorText(lang, err), values });
        }
        // The token was spent: the next form gets a new one.
        reply.header('set-cookie', `${COOKIE}=; Path=/join; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`);
        return reply.code(page.status).headers(PAGE_HEADERS).send(page.html);
      },
    );
  };
}
