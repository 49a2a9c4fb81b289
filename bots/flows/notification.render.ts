import type { DomainEvent } from '../../core/events/event.types.js';
import type { I18n, Language } from '../../core/i18n/i18n.js';
import { isInviteeReferral } from '../../core/notifications/notification.audience.js';
import type { ProgrammeSettings } from '../../core/programme/settings.schema.js';
import { percentOf } from '../../core/programme/rules.js';
import { escapeHtml } from '../../core/shared/html.js';

type PointsChanged = Extract<DomainEvent, { type: 'points.changed' }>;
type LevelChanged = Extract<DomainEvent, { type: 'level.changed' }>;
type PhoneVerification = Extract<DomainEvent, { type: 'phone.verification' }>;

type Line = PointsChanged['data']['lines'][number];

/**
 * The text key for one line. Each kind has the sign it normally has; a line of the other sign
 * (not expected) gets the neutral text of an adjustment.
 */
function keyFor(event: PointsChanged, line: Line): string {
  const credit = line.amount > 0;
  const neutral = credit ? 'bot:notify.adjustment_credit' : 'bot:notify.adjustment_debit';
  switch (line.kind) {
    case 'accrual':
      return credit ? 'bot:notify.accrual' : neutral;
    case 'redemption':
      return credit ? neutral : 'bot:notify.redemption';
    case 'clawback':
      return credit ? neutral : 'bot:notify.refund_clawback';
    case 'return':
      return credit ? 'bot:notify.refund_return' : neutral;
    case 'expiry':
      return credit ? neutral : 'bot:notify.expiry';
    case 'credit':
    case 'debit':
      if (credit && event.data.operation === 'welcome') return 'bot:notify.welcome';
      if (credit && event.data.operation === 'referral') return isInviteeReferral(event) ? 'bot:notify.referral_invitee' : 'bot:notify.referral';
      return neutral;
  }
}

/**
 * "+57 баллов за покупку, баланс 1 057": one line per kind of movement in the entry (a purchase
 * that paid with points and earned some tells both, each with the balance after it). A movement
 * that changed nothing says nothing, except a clawback the balance could not cover: the member
 * learns what the next accruals will pay off.
 */
export function pointsChangedText(i18n: I18n, lang: Language, event: PointsChanged): string | null {
  const { amount, balance, shortfall } = event.data;
  // Lines of one kind (several lots expiring at once) are told as one.
  const merged: Line[] = [];
  for (const l of event.data.lines) {
    const prev = merged[merged.length - 1];
    if (prev && prev.kind === l.kind) merged[merged.length - 1] = { ...prev, points: prev.points + l.points, amount: prev.amount + l.amount };
    else merged.push({ ...l });
  }
  let running = balance - amount;
  const texts: string[] = [];
  for (const l of merged) {
    running += l.amount;
    if (l.amount !== 0) texts.push(i18n.t(lang, keyFor(event, l), { count: Math.abs(l.amount), balance: running }));
  }
  if (shortfall > 0) texts.push(i18n.t(lang, 'bot:notify.shortfall', { points: i18n.t(lang, 'bot:points', { count: shortfall }) }));
  return texts.length > 0 ? texts.join('\n') : null;
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
