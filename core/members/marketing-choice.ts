import type { MemberDoc } from './member.model.js';

export type MarketingChannel = 'telegram' | 'vk' | 'wallet';

/**
 * Rule: a member takes marketing in a channel only if they gave the personal-data consent and
 * chose marketing there themselves (join question, settings) or their imported file said so; an
 * opt-in recorded without a choice (set automatically before broadcasts existed) does not count.
 * One rule for the broadcasts' recipients and the segments' `reachable`, so the two agree.
 */
export function choseMarketing(m: Pick<MemberDoc, 'consent' | 'optIn' | 'optInAt' | 'imported'>, channel: MarketingChannel): boolean {
  return Boolean(m.consent) && m.optIn[channel] === true && (Boolean(m.optInAt) || Boolean(m.imported));
}

/** Whether the bot may write to the member in a chat channel now (not blocked or denied since they last wrote). */
export function chatOpen(m: Pick<MemberDoc, 'unreachable'>, channel: 'telegram' | 'vk'): boolean {
  return !m.unreachable?.[channel];
}
