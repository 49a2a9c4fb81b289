import type { FastifyRequest } from 'fastify';
import type { CardDoc } from '../../core/cards/card.model.js';
import type { Core } from '../../core/core.js';
import { maskPhone } from '../../core/members/phone.js';
import { hasPhone } from '../../core/members/phone-registry.js';
import { percentOf } from '../../core/programme/rules.js';
import type { ProgrammeSettings } from '../../core/programme/settings.schema.js';

export type Lang = 'ru' | 'en';

/** ru unless the caller asks for English first. */
export function langOf(req: FastifyRequest): Lang {
  const h = req.headers['accept-language'];
  return typeof h === 'string' && /^\s*en\b/i.test(h) ? 'en' : 'ru';
}

export function levelView(level: { id: string; name: { ru: string; en: string }; percentBp: number }, lang: Lang) {
  return { id: level.id, name: level.name[lang], percent: percentOf(level.percentBp) };
}

export function cardLevelView(core: Core, card: CardDoc, settings: ProgrammeSettings, lang: Lang) {
  return levelView(core.cards.view(card, settings).level, lang);
}

/** The card as a till shows it: balance, level, next level, expiring points, who holds it. */
export async function presentCard(core: Core, card: CardDoc, lang: Lang) {
  const settings = await core.settings.current();
  const v = core.cards.view(card, settings);
  const member = card.memberId ? await core.members.byId(card.memberId) : null;
  const known = member && member.status !== 'erased' ? member : null;
  return {
    number: v.number,
    maskedPhone: known && hasPhone(known) ? maskPhone(known.phone) : null,
    name: known ? known.name : null,
    balance: v.balance,
    level: levelView(v.level, lang),
    nextLevel: v.next ? { ...levelView(v.next, lang), remaining: v.next.remainingKopecks } : null,
    expiring: v.expiring,
  };
}
