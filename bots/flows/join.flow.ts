import { MEMBER_NAME_MAX, memberName } from '../../core/members/member-name.js';
import type { MemberDoc } from '../../core/members/member.model.js';
import { makeContext, type FlowContext, type FlowData } from './flow.context.js';
import type { Input, Keyboard, Reply } from './flow.types.js';
import { ACTION, mainMenu } from './menu.js';
import { marketingQuestion } from './marketing.flow.js';
import { answerCode, chatAccount, typedLimitReplies, typedPhoneReplies } from './phone-proof.flow.js';
import { normalizePhone } from '../../core/members/phone.js';
import { escapeHtml } from '../../core/shared/html.js';

/**
 * Joining: phone → name → consent → card. Each answer moves the saved step on, so a join
 * cut by a restart continues where it stopped. Rules (who may join, bonuses, one card per
 * phone) are the core's: this file only asks and passes the answers on.
 */

const REFERRAL_PAYLOAD = /^ref_([A-Za-z0-9]{4,32})$/;

export function contactKeyboard(ctx: FlowContext): Keyboard {
  return { kind: 'contact', label: ctx.t('bot:join.share_phone') };
}

/** Channels where the number is typed (no share-contact button); there it proves nothing. */
const typesPhone = (ctx: FlowContext): boolean => ctx.deps.core.chatLink.typesPhone(ctx.sender.channel);

function askPhoneText(ctx: FlowContext): string {
  return typesPhone(ctx) ? ctx.t('bot:join.ask_phone_typed') : ctx.t('bot:join.ask_phone_button', { button: ctx.t('bot:join.share_phone') });
}

/** `/start` (or a first message) from someone who is not a member yet. */
export async function startJoin(ctx: FlowContext, payload: string | undefined): Promise<Reply[]> {
  const { core } = ctx.deps;
  const code = REFERRAL_PAYLOAD.exec(payload ?? '')?.[1];
  const referrer = code ? await core.members.findByReferralCode(code) : null;
  // The referral funnel's first step (reports): once per person and link.
  if (code && referrer) await core.insight.daily.referralOpened({ code, referrerId: String(referrer._id), account: `${ctx.sender.channel}:${ctx.sender.userId}` });
  const data: FlowData = {};
  const referralCode = referrer?.referralCode ?? ctx.data.referralCode;
  if (referralCode) data.referralCode = referralCode;
  await ctx.save('join.phone', data);

  const settings = await core.settings.current();
  const first = ctx.sender.firstName?.trim();
  const lines = [first ? ctx.t('bot:join.greeting_named', { name: escapeHtml(first) }) : ctx.t('bot:join.greeting')];
  if (settings.welcomeBonus > 0) lines.push(ctx.t('bot:join.welcome_offer', { points: ctx.t('bot:points', { count: settings.welcomeBonus }) }));
  if (referralCode && settings.referral.bonus > 0) {
    lines.push(ctx.t('bot:join.referral_offer', { points: ctx.t('bot:points', { count: settings.referral.bonus }) }));
  }
  lines.push(askPhoneText(ctx));
  return [{ text: lines.join('\n\n'), keyboard: contactKeyboard(ctx) }];
}

/** The next answer of a join in progress (or the first message of someone new). */
export async function continueJoin(ctx: FlowContext, input: Input): Promise<Reply[]> {
  if (input.kind === 'start') return startJoin(ctx, input.payload);
  switch (ctx.step) {
    case 'join.phone':
      return phoneStep(ctx, input);
    case 'join.name':
      return nameStep(ctx, input);
    case 'join.consent':
      return consentStep(ctx, input);
    default:
      return startJoin(ctx, undefined);
  }
}

async function phoneStep(ctx: FlowContext, input: Input): Promise<Reply[]> {
  if (input.kind === 'contact') {
    if (!input.own) return [{ text: `${ctx.t('bot:join.foreign_contact')}\n\n${askPhoneText(ctx)}`, keyboard: contactKeyboard(ctx) }];
    return contactPhone(ctx, input.phone);
  }
  // A typed number proves nothing where the contact button exists: ask for the button there.
  if (input.kind === 'text' && typesPhone(ctx)) return typedPhone(ctx, input.text);
  const text = typesPhone(ctx) ? askPhoneText(ctx) : ctx.t('bot:join.press_button', { button: ctx.t('bot:join.share_phone') });
  return [{ text, keyboard: contactKeyboard(ctx) }];
}

/** The person's own contact: a number held by a member who proved it links this chat to that member. */
async function contactPhone(ctx: FlowContext, raw: string): Promise<Reply[]> {
  const claim = await ctx.deps.core.chatLink.claimPhone(chatAccount(ctx), raw, ctx.lang, 'contact');
  if (claim.status === 'linked') return welcomeBack(ctx, claim.member, claim.cardNumber);
  if (claim.status !== 'new') return startJoin(ctx, undefined);
  await ctx.save('join.name', { ...withoutJoin(ctx.data), phone: claim.phone, proved: true });
  return [{ text: ctx.t('bot:join.ask_name'), keyboard: { kind: 'remove' } }];
}

/** A typed number: the same answer whoever holds it (a code went to its holder's chats if it could). */
async function typedPhone(ctx: FlowContext, raw: string): Promise<Reply[]> {
  const claim = await ctx.deps.core.chatLink.claimPhone(chatAccount(ctx), raw, ctx.lang, 'typed');
  if (claim.status === 'too_many') return typedLimitReplies(ctx);
  if (claim.status !== 'typed') return startJoin(ctx, undefined);
  await ctx.save('join.name', { ...withoutJoin(ctx.data), phone: claim.phone, proved: false });
  return typedPhoneReplies(ctx);
}

/** The join's answers so far, without the number and name (the referral stays). */
function withoutJoin(data: FlowData): FlowData {
  return data.referralCode ? { referralCode: data.referralCode } : {};
}

async function welcomeBack(ctx: FlowContext, member: MemberDoc, cardNumber: string): Promise<Reply[]> {
  const m = makeContext(ctx.deps, ctx.sender, { member, lang: member.language, step: null, data: {} });
  await m.save('menu', {});
  return [{ text: m.t('bot:join.welcome_back', { name: escapeHtml(member.name), card: cardNumber }), keyboard: mainMenu(m) }];
}

async function nameStep(ctx: FlowContext, input: Input): Promise<Reply[]> {
  if (input.kind === 'contact' && input.own) return contactPhone(ctx, input.phone);
  if (input.kind !== 'text') return [{ text: ctx.t('bot:join.ask_name'), keyboard: { kind: 'remove' } }];
  if (typesPhone(ctx) && !ctx.data.proved) {
    // After a typed number: the code its holder was told, another number, or a name.
    const answered = await answerCode(ctx, input.text, (member) => welcomeBack(ctx, member, member.cardNumber ?? ''));
    if (answered) return answered;
    if (normalizePhone(input.text)) return typedPhone(ctx, input.text);
  }
  const name = memberName(input.text);
  if (name === null) return [{ text: ctx.t('bot:join.name_invalid', { max: MEMBER_NAME_MAX }), keyboard: { kind: 'remove' } }];
  const settings = await ctx.deps.core.settings.current();
  await ctx.save('join.consent', { ...ctx.data, name, consentVersion: settings.consentTextVersion });
  return [consentPrompt(ctx)];
}

function consentPrompt(ctx: FlowContext): Reply {
  const url = ctx.deps.policyUrl;
  const lines = [ctx.t('bot:join.consent', { name: escapeHtml(ctx.data.name ?? '') })];
  if (url) lines.push(ctx.t('bot:join.consent_policy', { url: escapeHtml(url) }));
  lines.push(ctx.t('bot:join.consent_version', { version: escapeHtml(ctx.data.consentVersion ?? '') }));
  const rows = [
    [
      { label: ctx.t('bot:join.consent_agree'), action: ACTION.consent, arg: 'yes' },
      { label: ctx.t('bot:join.consent_decline'), action: ACTION.consent, arg: 'no' },
    ],
    ...(url ? [[{ label: ctx.t('bot:join.consent_policy_button'), action: 'policy', url }]] : []),
  ];
  return { text: lines.join('\n\n'), keyboard: { kind: 'inline', rows } };
}

async function consentStep(ctx: FlowContext, input: Input): Promise<Reply[]> {
  if (input.kind !== 'action' || input.action !== ACTION.consent || (input.arg !== 'yes' && input.arg !== 'no')) {
    return [{ text: ctx.t('bot:join.consent_ask_again') }, consentPrompt(ctx)];
  }
  if (input.arg === 'no') {
    // Nothing is kept without consent: the phone and name typed so far go too.
    await ctx.deps.conversations.remove(ctx.identity);
    return [{ text: ctx.t('bot:join.declined'), keyboard: { kind: 'remove' } }];
  }
  const { phone, name, referralCode, consentVersion } = ctx.data;
  if (!phone || !name) return startJoin(ctx, undefined);
  const outcome = await ctx.deps.core.chatLink.join(
    chatAccount(ctx),
    { phone, name, language: ctx.lang, ...(consentVersion ? { consentVersion } : {}), ...(referralCode ? { referralCode } : {}) },
    ctx.data.proved === true,
  );
  // The number was proved by its holder meanwhile and this chat proved it too: linked to that member.
  if (outcome.status === 'linked') return welcomeBack(ctx, outcome.member, outcome.cardNumber);
  const { result } = outcome;
  const settings = await ctx.deps.core.settings.current();
  const m = makeContext(ctx.deps, ctx.sender, { member: result.member, lang: result.member.language, step: null, data: {} });
  await m.save('menu', {});
  const mine = result.bonuses.filter((b) => b.card === result.card._id);
  const points = (type: 'welcome' | 'referral'): number => mine.filter((b) => b.type === type).reduce((sum, b) => sum + b.amount, 0);
  const lines = [m.t('bot:join.welcome', { name: escapeHtml(result.member.name), card: result.card._id })];
  const bonusLines: string[] = [];
  if (points('welcome') > 0) bonusLines.push(m.t('bot:join.welcome_bonus', { points: m.t('bot:points', { count: points('welcome') }) }));
  if (points('referral') > 0) bonusLines.push(m.t('bot:join.referral_bonus', { points: m.t('bot:points', { count: points('referral') }) }));
  bonusLines.push(m.t('bot:join.balance', { points: m.t('bot:points', { count: result.card.balance }) }));
  // A typed number earns its bonuses once proved; the words are the same whether the number was free or someone's.
  if (result.phone !== 'proved' && settings.welcomeBonus > 0) bonusLines.push(m.t('bot:join.proof_pending'));
  lines.push(bonusLines.join('\n'), m.t('bot:join.card_hint', { button: m.t('bot:menu.card') }));
  // Marketing is asked once, here, as a choice of its own (the data consent does not include it).
  return [{ text: lines.join('\n\n'), keyboard: mainMenu(m) }, await marketingQuestion(m)];
}
