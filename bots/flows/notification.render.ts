import type { DomainEvent } from '../../core/events/event.types.js';
import type { I18n, Language } from '../../core/i18n/i18n.js';
import { isInviteeReferral } from '../../core/notifications/notification.audience.js';
import type { ProgrammeSettings } from '../../core/programme/settings.schema.js';
import { percentOf } from '../../core/programme/rules.js';
import { escapeHtml } from '../../core/shared/html.js';

type PointsChanged = Extract<DomainEvent, { type: 'points.changed' }>;
type LevelChanged = Extract<DomainEvent, { type: 'level.changed' }>;
type PhoneVerification = Extract<DomainEvent, { type: 'phone.verification' }>;

/**
 * The text key for a movement. Each type has the sign it normally has; a movement of the
 * other sign (not expected) gets the neutral text of an adjustment.
 */
function keyFor(event: PointsChanged): string {
  const credit = event.data.amount > 0;
  switch (event.data.entryType) {
    case 'accrual':
      return credit ? 'bot:notify.accrual' : 'bot:notify.adjustment_debit';
    case 'redemption':
      return credit ? 'bot:notify.adjustment_credit' : 'bot:notify.redemption';
    case 'refund_clawback':
      return credit ? 'bot:notify.adjustment_credit' : 'bot:notify.refund_clawback';
    case 'refund_return':
      return credit ? 'bot:notify.refund_return' : 'bot:notify.adjustment_debit';
    case 'welcome':
      return credit ? 'bot:notify.welcome' : 'bot:notify.adjustment_debit';
    case 'referral':
      if (!credit) return 'bot:notify.adjustment_debit';
      return isInviteeReferral(event) ? 'bot:notify.referral_invitee' : 'bot:notify.referral';
    case 'expiry':
      return credit ? 'bot:notify.adjustment_credit' : 'bot:notify.expiry';
    case 'adjustment':
      return credit ? 'bot:notify.adjustment_credit' : 'bot:notify.adjustment_debit';
  }
}

/**
 * "+57 баллов за покупку, баланс 1 057". A movement that changed nothing says nothing, except a
 * clawback the balance could not cover: the member learns what the next accruals will pay off.
 */
export function pointsChangedText(i18n: I18n, lang: Language, event: PointsChanged): string | null {
  const { amount, balance, shortfall } = event.data;
  const owed = shortfall > 0 ? i18n.t(lang, 'bot:notify.shortfall', { points: i18n.t(lang, 'bot:points', { count: shortfall }) }) : null;
  if (amount === 0) return owed;
  const text = i18n.t(lang, keyFor(event), { count: Math.abs(amount), balance });
  return owed ? `${text}\n${owed}` : text;
}

/** A level up is congratulated; any other change (a refund, a level set by hand) is just told. */
export function levelChangedText(i18n: I18n, lang: Language, event: LevelChanged, settings: ProgrammeSettings): string | null {
  const to = [...settings.levels, ...settings.manualLevels].find((l) => l.id === event.data.to);
  if (!to) return null;
  const fromIndex = settings.levels.findIndex((l) => l.id === event.data.from);
  const toIndex = settings.levels.findIndex((l) => l.id === event.data.to);
  const up = fromIndex >= 0 && toIndex > fromIndex;
  const options = { level: escapeHtml(to.name[lang]), percent: percentOf(to.percentBp) };
  return up ? i18n.t(lang, 'bot:notify.level_up', options) : i18n.t(lang, 'bot:notify.level_changed', options);
}

/** Where the account that asked for a code can be seen, so the member knows who asks. */
function accountLink(event: PhoneVerification): string {
  return event.data.channel === 'vk' ? `https://vk.com/id${event.data.account}` : `${event.data.channel}:${event.data.account}`;
}

/**
 * The one-time code that links another chat account to the member (core/members/phone-proof.service.ts):
 * who asks, the code, how long it lives, and not to pass it on.
 */
export function phoneVerificationText(i18n: I18n, lang: Language, event: PhoneVerification): string {
  const minutes = Math.max(1, Math.round((Date.parse(event.data.expiresAt) - Date.parse(event.at)) / 60_000));
  return i18n.t(lang, 'vk:proof.notice', { code: escapeHtml(event.data.code), account: escapeHtml(accountLink(event)), count: minutes });
}
