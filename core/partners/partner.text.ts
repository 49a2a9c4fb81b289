import type { I18n, Language } from '../i18n/i18n.js';
import { percentOf, type Level } from '../programme/rules.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { termsFor, type PartnerTerms } from './partner.terms.js';

/** A partner's terms for one member's level: what the bot and the pass show. */
export interface PartnerLine {
  name: string;
  percentBp: number;
  redeemCapBp: number;
}

/** The partners' terms as they apply at `level` (the member's), in the partners' order. */
export function partnerLines(settings: ProgrammeSettings, level: Pick<Level, 'id' | 'percentBp'>, partners: readonly PartnerTerms[]): PartnerLine[] {
  return partners.map((p) => {
    const t = termsFor(settings, level, p);
    return { name: p.name, percentBp: t.percentBp, redeemCapBp: t.redeemCapBp };
  });
}

/** One line of text per partner, plain (the caller escapes it for HTML). */
export function partnerLineText(i18n: Pick<I18n, 't'>, lang: Language, line: PartnerLine): string {
  const accrual = line.percentBp > 0 ? i18n.t(lang, 'partners:accrual', { percent: percentOf(line.percentBp) }) : i18n.t(lang, 'partners:no_accrual');
  const redeem = line.redeemCapBp > 0 ? i18n.t(lang, 'partners:redeem', { percent: percentOf(line.redeemCapBp) }) : i18n.t(lang, 'partners:no_redeem');
  return i18n.t(lang, 'partners:line', { name: line.name, accrual, redeem, interpolation: { escapeValue: false } });
}
