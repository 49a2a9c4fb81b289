import type { Language } from '../../core/i18n/i18n.js';

/**
 * Formatting shared by the flows. Texts are HTML (<b>, <i>, <code>, <a href>): every value that
 * comes from a person or an admin goes through escapeHtml (core/shared/html.ts) first.
 */

const LOCALES: Record<Language, string> = { ru: 'ru-RU', en: 'en-GB' };

/**
 * A calendar date. Dates are shown in UTC: expiry dates are UTC days (see ledger.service.ts)
 * and the programme settings name no time zone.
 */
export function formatDate(lang: Language, date: Date | string, style: 'long' | 'short' = 'long'): string {
  const d = typeof date === 'string' ? new Date(date.length === 10 ? `${date}T12:00:00Z` : date) : date;
  const options: Intl.DateTimeFormatOptions =
    style === 'long' ? { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' } : { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC' };
  return new Intl.DateTimeFormat(LOCALES[lang], options).format(d);
}

/** '+57' / '−100' (a real minus sign), grouped the way the language writes numbers. */
export function signedNumber(lang: Language, n: number): string {
  return `${n < 0 ? '−' : '+'}${new Intl.NumberFormat(LOCALES[lang]).format(Math.abs(n))}`;
}

/** Kopecks as whole roubles, rounded up: what is still to spend is never understated. */
export function roublesUp(kopecks: number): number {
  return Math.ceil(kopecks / 100);
}
