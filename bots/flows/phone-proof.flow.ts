import type { CodeAnswer, ChatAccount } from '../../core/members/chat-link.service.js';
import type { MemberDoc } from '../../core/members/member.model.js';
import { PHONE_PROOF_LIMITS } from '../../core/members/phone-proof.service.js';
import type { FlowContext } from './flow.context.js';
import type { Keyboard, Reply } from './flow.types.js';

/**
 * The words of the phone-ownership proof on channels where the number is typed: which number
 * needs a code, where codes go and when an account is linked are the core's
 * (core/members/chat-link.service.ts); this file tells the person what to type next, in words
 * that are the same whoever holds the number they typed.
 */

/** While a code or a name is awaited the person types: no menu to press. */
const TYPE_ANSWER: Keyboard = { kind: 'remove' };

export function chatAccount(ctx: FlowContext): ChatAccount {
  return { identity: ctx.identity, channel: ctx.sender.channel, account: ctx.sender.userId };
}

/** A typed number was taken: a code went wherever it could go (or nowhere); the same words either way. */
export function typedPhoneReplies(ctx: FlowContext): Reply[] {
  return [{ text: ctx.t('bot:join.typed_sent', { count: Math.round(PHONE_PROOF_LIMITS.codeTtlMs / 60_000) }), keyboard: TYPE_ANSWER }];
}

/** Too many numbers typed from this chat (or from everyone) this hour. */
export function typedLimitReplies(ctx: FlowContext): Reply[] {
  return [{ text: ctx.t('bot:join.typed_limit'), keyboard: TYPE_ANSWER }];
}

/**
 * A 6-digit text after a typed number. Null: not a code, for the step to read as a name.
 * `linked` renders the welcome once the account is linked.
 */
export async function answerCode(ctx: FlowContext, text: string, linked: (member: MemberDoc) => Promise<Reply[]>): Promise<Reply[] | null> {
  const r: CodeAnswer | null = await ctx.deps.core.chatLink.answerCode(chatAccount(ctx), text);
  if (!r) return null;
  switch (r.status) {
    case 'wrong':
      return [{ text: ctx.t('vk:proof.wrong', { count: r.attemptsLeft }), keyboard: TYPE_ANSWER }];
    case 'locked':
      return [{ text: ctx.t('vk:proof.locked'), keyboard: TYPE_ANSWER }];
    case 'expired':
      return [{ text: ctx.t('vk:proof.expired'), keyboard: TYPE_ANSWER }];
    case 'none':
      return [{ text: ctx.t('vk:proof.none'), keyboard: TYPE_ANSWER }];
    case 'gone':
      return [{ text: ctx.t('vk:proof.gone'), keyboard: TYPE_ANSWER }];
    case 'linked':
      return linked(r.member);
  }
}
