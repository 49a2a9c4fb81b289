import type { ChatChannel } from '../../core/members/identity.js';
import type { CodeAnswer, ChatAccount, ProofStart } from '../../core/members/chat-link.service.js';
import type { MemberDoc } from '../../core/members/member.model.js';
import { PHONE_PROOF_LIMITS } from '../../core/members/phone-proof.service.js';
import { escapeHtml } from '../../core/shared/html.js';
import type { FlowContext, FlowData } from './flow.context.js';
import type { Keyboard, Reply } from './flow.types.js';

/**
 * The words of the phone-ownership proof: which number needs a code, where codes go and when an
 * account is linked are the core's (core/members/chat-link.service.ts); this file tells the
 * person what happened and what to type next.
 */

/** While a code is awaited the person types: no menu to press. */
const TYPE_ANSWER: Keyboard = { kind: 'remove' };

const WHERE_KEYS: Record<ChatChannel, string> = { telegram: 'vk:proof.where.telegram', vk: 'vk:proof.where.vk', console: 'vk:proof.where.console' };

/** The chats a code goes to, by channel name: "Telegram", "Telegram, ВКонтакте (…)". */
function whereText(ctx: FlowContext, chats: readonly ChatChannel[]): string {
  return chats.map((c) => ctx.t(WHERE_KEYS[c])).join(', ');
}

export function chatAccount(ctx: FlowContext): ChatAccount {
  return { identity: ctx.identity, channel: ctx.sender.channel, account: ctx.sender.userId };
}

function withoutPhone(data: FlowData): FlowData {
  return data.referralCode ? { referralCode: data.referralCode } : {};
}

/**
 * A code was asked for (or could not be): nothing is linked and no second card can exist (one
 * phone, one member), so the join stays at the phone step: the code or another number may come next.
 */
export async function proofReplies(ctx: FlowContext, proof: ProofStart): Promise<Reply[]> {
  await ctx.save('join.phone', withoutPhone(ctx.data));
  switch (proof.status) {
    case 'no_chat': {
      const bot = ctx.deps.links.telegramBot;
      const lines = [ctx.t('vk:proof.no_channel')];
      lines.push(bot ? ctx.t('vk:proof.no_channel_telegram', { url: escapeHtml(`https://t.me/${encodeURIComponent(bot)}`) }) : ctx.t('vk:proof.no_channel_store'));
      return [{ text: lines.join('\n\n'), keyboard: TYPE_ANSWER }];
    }
    case 'sent':
      return [{ text: ctx.t('vk:proof.sent', { where: whereText(ctx, proof.chats), count: Math.round(PHONE_PROOF_LIMITS.codeTtlMs / 60_000) }), keyboard: TYPE_ANSWER }];
    case 'cooldown':
      return [{ text: ctx.t('vk:proof.cooldown', { where: whereText(ctx, proof.chats), count: proof.retryInSeconds }), keyboard: TYPE_ANSWER }];
    case 'too_many':
      return [{ text: ctx.t('vk:proof.limit'), keyboard: TYPE_ANSWER }];
  }
}

/**
 * A text at the phone step while a code may be awaited. Null: not an answer to a code, for the
 * phone step to read. `linked` renders the welcome once the account is linked.
 */
export async function answerCode(ctx: FlowContext, text: string, linked: (member: MemberDoc) => Promise<Reply[]>): Promise<Reply[] | null> {
  const r: CodeAnswer | null = await ctx.deps.core.chatLink.answerCode(chatAccount(ctx), text);
  if (!r) return null;
  switch (r.status) {
    case 'ask_code':
      return [{ text: ctx.t('vk:proof.ask_code', { where: whereText(ctx, r.chats) }), keyboard: TYPE_ANSWER }];
    case 'wrong':
      return [{ text: ctx.t('vk:proof.wrong', { count: r.attemptsLeft }), keyboard: TYPE_ANSWER }];
    case 'locked':
      return [{ text: ctx.t('vk:proof.locked'), keyboard: TYPE_ANSWER }];
    case 'expired':
      return [{ text: ctx.t('vk:proof.expired'), keyboard: TYPE_ANSWER }];
    case 'gone':
      return [{ text: ctx.t('vk:proof.gone'), keyboard: TYPE_ANSWER }];
    case 'linked':
      return linked(r.member);
  }
}
