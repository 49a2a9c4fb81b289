import type { MemberDoc } from '../../core/members/member.model.js';
import { normalizePhone } from '../../core/members/phone.js';
import { PHONE_PROOF_LIMITS, normalizeCode } from '../../core/members/phone-proof.service.js';
import type { FlowContext, FlowData } from './flow.context.js';
import type { ChatChannel, Keyboard, Reply } from './flow.types.js';
import { escapeHtml } from '../../core/shared/html.js';

/**
 * Ownership of a typed phone. On VK a number is typed, and typing proves nothing: typed alone,
 * a stranger's number would open the stranger's card (balance, history, points to spend). So
 * a number that is already a member's links this account only after a one-time code, told in a
 * chat the member already uses (core/members/phone-proof.service.ts), is typed back here. The
 * terminal chat is the operator's own terminal and links typed numbers as before.
 */
const PROOF_CHANNELS: readonly ChatChannel[] = ['vk'];

export function needsProof(ctx: FlowContext): boolean {
  return PROOF_CHANNELS.includes(ctx.sender.channel);
}

/** While a code is awaited the person types: no menu to press. */
const TYPE_ANSWER: Keyboard = { kind: 'remove' };

const WHERE_KEYS: Record<string, string> = { telegram: 'vk:proof.where.telegram', vk: 'vk:proof.where.vk', console: 'vk:proof.where.console' };

/** The chats a code goes to, by channel name: "Telegram", "Telegram, ВКонтакте (…)". */
function whereText(ctx: FlowContext, identities: readonly string[]): string {
  const channels = [...new Set(identities.map((i) => i.slice(0, i.indexOf(':'))))];
  return channels.map((c) => ctx.t(WHERE_KEYS[c] ?? c)).join(', ');
}

async function chatsOf(ctx: FlowContext, memberId: string): Promise<string[]> {
  return (await ctx.deps.conversations.chatIdentitiesOf(memberId)).filter((i) => i !== ctx.identity);
}

function withoutPhone(data: FlowData): FlowData {
  return data.referralCode ? { referralCode: data.referralCode } : {};
}

/**
 * The typed phone is `member`'s: send a code to the member's chats. Nothing is linked and no
 * second card can exist (one phone, one member), so the join stays at the phone step: the code
 * or another number may come next.
 */
export async function startProof(ctx: FlowContext, member: MemberDoc): Promise<Reply[]> {
  const memberId = String(member._id);
  await ctx.save('join.phone', withoutPhone(ctx.data));
  const chats = await chatsOf(ctx, memberId);
  if (chats.length === 0) {
    const bot = ctx.deps.links.telegramBot;
    const lines = [ctx.t('vk:proof.no_channel')];
    lines.push(bot ? ctx.t('vk:proof.no_channel_telegram', { url: escapeHtml(`https://t.me/${encodeURIComponent(bot)}`) }) : ctx.t('vk:proof.no_channel_store'));
    return [{ text: lines.join('\n\n'), keyboard: TYPE_ANSWER }];
  }
  const where = whereText(ctx, chats);
  const r = await ctx.deps.core.phoneProofs.request({ identity: ctx.identity, channel: ctx.sender.channel, account: ctx.sender.userId, member });
  switch (r.status) {
    case 'sent':
      return [{ text: ctx.t('vk:proof.sent', { where, count: Math.round(PHONE_PROOF_LIMITS.codeTtlMs / 60_000) }), keyboard: TYPE_ANSWER }];
    case 'cooldown':
      return [{ text: ctx.t('vk:proof.cooldown', { where, count: r.retryInSeconds }), keyboard: TYPE_ANSWER }];
    case 'too_many':
      return [{ text: ctx.t('vk:proof.limit'), keyboard: TYPE_ANSWER }];
  }
}

/**
 * A text at the phone step while a code may be awaited. Null: not an answer to a code (no code
 * waits, or the text is a phone number), for the phone step to read. `linked` renders the
 * welcome once the account is linked.
 */
export async function answerCode(ctx: FlowContext, text: string, linked: (member: MemberDoc) => Promise<Reply[]>): Promise<Reply[] | null> {
  const { core } = ctx.deps;
  const code = normalizeCode(text);
  if (code === null) {
    const waiting = normalizePhone(text) ? null : await core.phoneProofs.pending(ctx.identity);
    if (!waiting) return null;
    return [{ text: ctx.t('vk:proof.ask_code', { where: whereText(ctx, await chatsOf(ctx, waiting.memberId)) }), keyboard: TYPE_ANSWER }];
  }
  const r = await core.phoneProofs.verify(ctx.identity, code);
  switch (r.status) {
    case 'none':
      return null;
    case 'wrong':
      return [{ text: ctx.t('vk:proof.wrong', { count: r.attemptsLeft }), keyboard: TYPE_ANSWER }];
    case 'locked':
      return [{ text: ctx.t('vk:proof.locked'), keyboard: TYPE_ANSWER }];
    case 'expired':
      return [{ text: ctx.t('vk:proof.expired'), keyboard: TYPE_ANSWER }];
    case 'ok': {
      const member = await core.members.byId(r.memberId);
      // The number changed owner (or the member left) since the code went out: it proves nothing now.
      if (member?.status !== 'active' || member.phone !== r.phone) return [{ text: ctx.t('vk:proof.gone'), keyboard: TYPE_ANSWER }];
      await core.members.linkIdentity(r.memberId, ctx.identity);
      return linked(member);
    }
  }
}
