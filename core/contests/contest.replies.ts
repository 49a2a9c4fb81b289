import { DomainError, type ErrorCode } from '../shared/errors.js';
import type { IneligibleReason } from './contest.entry.js';

/**
 * Which text (locales/<lang>/contests.json) answers a contest entry, for the bot flows: one
 * reply per refusal code, and for contest_not_eligible one per reason. Keys are written out
 * in full so scripts/check-locales.ts checks that every one exists in ru and en.
 */

export const CONTEST_REFUSAL_KEYS = {
  invalid_card_number: 'contests:refused.invalid_card_number',
  card_not_found: 'contests:refused.card_not_found',
  card_blocked: 'contests:refused.card_blocked',
  card_replaced: 'contests:refused.card_replaced',
  contest_not_found: 'contests:refused.contest_not_found',
  contest_not_open: 'contests:refused.contest_not_open',
  contest_not_eligible: 'contests:refused.contest_not_eligible',
  contest_already_entered: 'contests:refused.contest_already_entered',
  contest_card_taken: 'contests:refused.contest_card_taken',
  contest_throttled: 'contests:refused.contest_throttled',
} as const satisfies Partial<Record<ErrorCode, string>>;

const INELIGIBLE_KEYS = {
  no_member: 'contests:not_eligible.no_member',
  member_inactive: 'contests:not_eligible.member_inactive',
  joined_after: 'contests:not_eligible.joined_after',
  min_level: 'contests:not_eligible.min_level',
  not_a_member: 'contests:not_eligible.not_a_member',
  not_your_card: 'contests:not_eligible.not_your_card',
  link_code: 'contests:not_eligible.link_code',
} as const satisfies Record<IneligibleReason, string>;

export interface ContestReply {
  key: string;
  /** Interpolation values the text uses; `count` (minutes) for contest_throttled's plural. */
  options: Record<string, unknown>;
}

/**
 * The reply to a refused entry, or null when the error is not a contest refusal (the
 * channel's error boundary handles it, e.g. with common:errors.<code>). Values the texts need
 * and the error does not carry (a level's name, dates in the person's format) are the caller's:
 * `minLevel` and `joinedBefore` come back raw in the options.
 */
export function contestRefusalReply(err: unknown): ContestReply | null {
  if (!(err instanceof DomainError) || !(err.code in CONTEST_REFUSAL_KEYS)) return null;
  const d = err.details;
  if (err.code === 'contest_not_eligible') {
    const reason = d.reason as IneligibleReason | undefined;
    const key = reason && reason in INELIGIBLE_KEYS ? INELIGIBLE_KEYS[reason] : CONTEST_REFUSAL_KEYS.contest_not_eligible;
    return { key, options: { minLevel: d.minLevel, joinedBefore: d.joinedBefore } };
  }
  if (err.code === 'contest_throttled') {
    const seconds = typeof d.retryAfterSeconds === 'number' ? d.retryAfterSeconds : 600;
    return { key: CONTEST_REFUSAL_KEYS.contest_throttled, options: { count: Math.max(1, Math.ceil(seconds / 60)) } };
  }
  return { key: CONTEST_REFUSAL_KEYS[err.code as keyof typeof CONTEST_REFUSAL_KEYS], options: {} };
}
