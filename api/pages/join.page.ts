import type { I18n, Language } from '../../core/i18n/i18n.js';
import { LANGUAGES } from '../../core/i18n/i18n.js';
import type { JoinForm } from '../../core/enrolment/web-join.service.js';
import { escapeHtml as e } from '../../core/shared/html.js';

/**
 * The public join page, rendered on the server from small template functions: every value
 * that is not our own markup goes through escapeHtml. No script, no outside resource: the
 * styles are inline and the QR code is inline SVG (the page's CSP forbids everything else).
 */

const CSS = `*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1c1d21}
main{max-width:28rem;margin:0 auto;padding:1.25rem}h1{font-size:1.5rem;margin:.5rem 0 1rem}.card{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
label{display:block;margin:.9rem 0 .3rem;font-weight:600}input[type=tel],input[type=text]{width:100%;padding:.75rem;font-size:1rem;border:1px solid #c7c9d1;border-radius:8px}
.check{display:flex;gap:.6rem;align-items:flex-start;font-weight:400}.check input{margin-top:.3rem;width:1.2rem;height:1.2rem}.small{font-size:.85rem;color:#5b5e6b}
button,.button{display:block;width:100%;margin-top:1.2rem;padding:.85rem;font-size:1.05rem;font-weight:600;text-align:center;text-decoration:none;color:#fff;background:#1a73e8;border:0;border-radius:8px}
.button.dark{background:#000}.error{background:#fdecea;color:#8a1c12;padding:.75rem;border-radius:8px;margin-bottom:1rem}.langs{text-align:right;font-size:.9rem}.langs a{margin-left:.6rem}
.number{font:600 1.4rem/1.2 ui-monospace,Menlo,monospace;letter-spacing:.05em;text-align:center}.qr{display:block;margin:1rem auto;width:14rem;height:14rem}.qr svg{width:100%;height:100%}`;

/** `?lang=` links that keep the page's other parameters. */
function langLinks(t: I18n, lang: Language, query: Record<string, string | null>): string {
  const links = LANGUAGES.map((l) => {
    const params: Record<string, string | null> = { ...query, lang: l };
    const q = new URLSearchParams(Object.entries(params).filter((kv): kv is [string, string] => kv[1] !== null));
    return l === lang ? `<strong>${l.toUpperCase()}</strong>` : `<a href="/join?${e(q.toString())}" hreflang="${l}">${l.toUpperCase()}</a>`;
  });
  return `<nav class="langs" aria-label="${e(t.t(lang, 'web:join.language'))}">${links.join(' ')}</nav>`;
}

function layout(t: I18n, lang: Language, title: string, body: string, query: Record<string, string | null>): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${e(title)}</title><style>${CSS}</style></head>
<body><main>${langLinks(t, lang, query)}${body}</main></body></html>`;
}

export interface FormView {
  form: JoinForm;
  lang: Language;
  rulesUrl: string | undefined;
  /** Already localized. */
  error?: string | undefined;
  values?: { phone: string; name: string; marketing: boolean } | undefined;
}

export function renderJoinForm(t: I18n, v: FormView): string {
  const { form, lang } = v;
  const tr = (key: string, o?: Record<string, unknown>) => t.t(lang, `web:join.${key}`, o);
  const pts = (n: number) => t.t(lang, 'bot:points', { count: n });
  const offers = [tr('welcome_offer', { points: pts(form.welcomeBonus) })];
  if (form.referralBonus !== null) offers.push(tr('referral_offer', { points: pts(form.referralBonus) }));
  const hidden = [
    ['token', form.token],
    ['consentVersion', form.consentVersion],
    ['lang', lang],
    ...(form.ref ? [['ref', form.ref]] : []),
    ...(form.store ? [['store', form.store.id]] : []),
  ].map(([k, val]) => `<input type="hidden" name="${k}" value="${e(val ?? '')}">`);
  const body = `<h1>${e(form.store ? tr('store_intro', { store: form.store.name }) : tr('title'))}</h1>
<div class="card">${v.error ? `<p class="error" role="alert">${e(v.error)}</p>` : ''}<p>${e(tr('intro'))}</p>${offers.map((o) => `<p><strong>${e(o)}</strong></p>`).join('')}
<form method="post" action="/join" autocomplete="on">${hidden.join('')}
<label for="phone">${e(tr('phone_label'))}</label><input id="phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" required maxlength="40" placeholder="${e(tr('phone_hint'))}" value="${e(v.values?.phone ?? '')}">
<label for="name">${e(tr('name_label'))}</label><input id="name" name="name" type="text" autocomplete="given-name" required maxlength="64" value="${e(v.values?.name ?? '')}">
<p class="small">${e(tr('consent_text'))} ${e(tr('consent_version', { version: form.consentVersion }))}${v.rulesUrl ? ` <a href="${e(v.rulesUrl)}" rel="noopener">${e(tr('rules'))}</a>` : ''}</p>
<label class="check"><input type="checkbox" name="consent" value="yes" required> <span>${e(tr('consent_agree'))}</span></label>
<label class="check"><input type="checkbox" name="marketing" value="yes"${v.values?.marketing ? ' checked' : ''}> <span>${e(tr('marketing_agree'))}</span></label>
<button type="submit">${e(tr('submit'))}</button></form></div>`;
  return layout(t, lang, tr('title'), body, { ref: form.ref, store: form.store?.id ?? null });
}

export interface JoinedView {
  lang: Language;
  cardNumber: string;
  /** Inline SVG of the card number's QR code (generated by the qrcode library, no user text in it). */
  qrSvg: string;
  walletUrl: string | null;
  bonusesPending: number;
  links: { telegram: string | null; vk: string | null };
}

export function renderJoined(t: I18n, v: JoinedView): string {
  const tr = (key: string, o?: Record<string, unknown>) => t.t(v.lang, `web:join.${key}`, o);
  const display = v.cardNumber.replace(/(.{4})(?=.)/g, '$1 ');
  const bots = [
    v.links.telegram ? `<a class="button" href="${e(v.links.telegram)}" rel="noopener">${e(tr('telegram'))}</a>` : '',
    v.links.vk ? `<a class="button" href="${e(v.links.vk)}" rel="noopener">${e(tr('vk'))}</a>` : '',
  ].join('');
  const body = `<h1>${e(tr('joined_title'))}</h1><div class="card">
<p class="small">${e(tr('card_label'))}</p><p class="number" data-card="${e(v.cardNumber)}">${e(display)}</p>
<div class="qr" role="img" aria-label="${e(display)}">${v.qrSvg}</div><p class="small">${e(tr('qr_hint'))}</p>
${v.walletUrl ? `<a class="button dark" href="${e(v.walletUrl)}">${e(tr('add_wallet'))}</a>` : ''}
${v.bonusesPending > 0 ? `<p>${e(tr('bonus_pending', { count: v.bonusesPending }))}</p>` : ''}
${bots ? `<p>${e(tr('bots_intro'))}</p>${bots}` : ''}</div>`;
  return layout(t, v.lang, tr('joined_title'), body, {});
}

export function renderHeld(t: I18n, lang: Language): string {
  const tr = (key: string) => t.t(lang, `web:join.${key}`);
  return layout(t, lang, tr('held_title'), `<h1>${e(tr('held_title'))}</h1><div class="card"><p>${e(tr('held_text'))}</p></div>`, {});
}
