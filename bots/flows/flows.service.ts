import type { Core } from '../../core/core.js';
import type { DomainEvent } from '../../core/events/event.types.js';
import type { I18n, Language } from '../../core/i18n/i18n.js';
import type { MemberDoc } from '../../core/members/member.model.js';
import { balanceReplies } from './balance.flow.js';
import { cardReplies, type CardWallet } from './card.flow.js';
import { consentRenewal } from './consent.flow.js';
import { contestRoute } from './contest.flow.js';
import { renderError } from './errors.render.js';
import { loadContext, type FlowContext, type FlowDeps } from './flow.context.js';
import type { ChatChannel, Flows, Input, Reply, Sender } from './flow.types.js';
import { helpReplies, memberStartReplies, unknownReplies } from './help.flow.js';
import { historyReplies } from './history.flow.js';
import { inviteReplies } from './invite.flow.js';
import { contactKeyboard, continueJoin } from './join.flow.js';
import { ACTION, mainMenu, menuActionFor } from './menu.js';
import { partnersReplies } from './partners.flow.js';
import { marketingReplies, unsubscribeReplies } from './marketing.flow.js';
import { levelChangedText, phoneVerificationText, pointsChangedText } from './notification.render.js';
import { eraseAskReplies, eraseConfirmReplies, languageReplies, notificationsReplies, settingsReplies } from './settings.flow.js';

export interface Notification {
  channel: ChatChannel;
  userId: string;
  replies: Reply[];
}

type Handler = (ctx: FlowContext, arg: string | undefined) => Promise<Reply[]> | Reply[];

/** What each button does for a member; an action not listed here is answered as unrecognised. */
const HANDLERS: Record<string, Handler> = {
  [ACTION.balance]: (ctx) => balanceReplies(ctx),
  [ACTION.history]: (ctx, arg) => historyReplies(ctx, arg),
  [ACTION.invite]: (ctx) => inviteReplies(ctx),
  [ACTION.settings]: (ctx) => settingsReplies(ctx),
  [ACTION.help]: (ctx) => helpReplies(ctx),
  [ACTION.partners]: (ctx) => partnersReplies(ctx),
  [ACTION.menu]: (ctx) => memberStartReplies(ctx),
  [ACTION.language]: (ctx, arg) => languageReplies(ctx, arg),
  [ACTION.notifications]: (ctx, arg) => notificationsReplies(ctx, arg),
  [ACTION.erase]: (ctx) => eraseAskReplies(ctx),
  [ACTION.eraseConfirm]: (ctx, arg) => eraseConfirmReplies(ctx, arg),
  [ACTION.marketing]: (ctx, arg) => marketingReplies(ctx, arg),
  [ACTION.unsubscribe]: (ctx, arg) => unsubscribeReplies(ctx, arg),
  // A consent button pressed again after joining: nothing to do, show the menu.
  [ACTION.consent]: (ctx) => memberStartReplies(ctx),
};

/** A typed `/start <payload>` (the terminal chat) is the same as the channel's start. */
function normalizeInput(input: Input): Input {
  if (input.kind !== 'text') return input;
  const m = /^\/start(?:@\S+)?(?:\s+(\S+))?\s*$/.exec(input.text.trim());
  return m ? { kind: 'start', payload: m[1] } : input;
}

/**
 * The conversation flows for every chat channel: an update in, the replies out. No channel code
 * and no programme rule here: rules are the core's; adapters parse updates and render replies.
 */
export function createFlows(deps: {
  core: Core;
  i18n: I18n;
  links: { telegramBot?: string | undefined; vkCommunity?: string | undefined };
  policyUrl?: string;
  /** Apple Wallet, when configured: "My card" then carries the pass link (and file on Telegram). */
  wallet?: CardWallet | undefined;
}): Flows & { notification(event: DomainEvent): Promise<Notification[]>; reachability(sender: Sender, reachable: boolean): Promise<void> } {
  const flowDeps: FlowDeps = { core: deps.core, i18n: deps.i18n, conversations: deps.core.conversations, links: deps.links, policyUrl: deps.policyUrl };

  async function route(ctx: FlowContext, input: Input): Promise<Reply[]> {
    // A new consent text is agreed to (or the data deleted) before anything else.
    const consent = await consentRenewal(ctx, input);
    if (consent) return consent;
    // Contest links, the card-number step and the admin's contest commands: members and non-members.
    const contest = await contestRoute(ctx, input);
    if (contest) return contest;
    if (!ctx.member) return continueJoin(ctx, input);
    if (input.kind === 'start') return memberStartReplies(ctx);
    const action = input.kind === 'action' ? input.action : input.kind === 'text' ? menuActionFor(deps.i18n, input.text) : null;
    if (action === ACTION.card) return cardReplies(ctx, deps.wallet);
    const handler = action ? HANDLERS[action] : undefined;
    if (!handler) return unknownReplies(ctx);
    return handler(ctx, input.kind === 'action' ? input.arg : undefined);
  }

  async function releasedNotice(ctx: FlowContext): Promise<Reply[]> {
    const member = ctx.member;
    if (!member) return [];
    await deps.core.members.ackPhoneReleased(String(member._id));
    return [{ text: ctx.t('bot:phone_released') }];
  }

  async function textFor(event: DomainEvent, member: MemberDoc): Promise<string | null> {
    if (event.type === 'points.changed') return pointsChangedText(deps.i18n, member.language, event);
    if (event.type === 'phone.verification') return phoneVerificationText(deps.i18n, member.language, event);
    if (event.type === 'contest.won') return deps.i18n.t(member.language, 'contests:won', { title: event.data.title, place: event.data.place });
    return levelChangedText(deps.i18n, member.language, event, await deps.core.settings.current());
  }

  return {
    async handle(sender: Sender, input: Input): Promise<Reply[]> {
      const ctx = await loadContext(flowDeps, sender);
      // Writing to the bot again makes a chat that had blocked it reachable for broadcasts again.
      if (ctx.member?.unreachable && sender.channel !== 'console' && ctx.member.unreachable[sender.channel]) await deps.core.broadcasts.setReachable(ctx.identity, true);
      try {
        // A typed number this member gave was proved by its owner: told once, on this visit.
        const released = ctx.member?.phoneReleasedAt ? await releasedNotice(ctx) : [];
        return [...released, ...(await route(ctx, normalizeInput(input)))];
      } catch (err) {
        const keyboard = ctx.member ? mainMenu(ctx) : ctx.step === 'join.phone' ? contactKeyboard(ctx) : undefined;
        const reply = renderError(deps.i18n, ctx.lang, err, keyboard);
        if (!reply) throw err;
        return [reply];
      }
    },

    async reachability(sender: Sender, reachable: boolean): Promise<void> {
      await deps.core.broadcasts.setReachable(`${sender.channel}:${sender.userId}`, reachable);
    },

    async languageOf(sender: Sender): Promise<Language> {
      return (await loadContext(flowDeps, sender)).lang;
    },

    /** The messages of a domain event: who hears of it is the core's answer, the words are these flows'. */
    async notification(event: DomainEvent): Promise<Notification[]> {
      const audience = await deps.core.notifications.of(event);
      if (!audience) return [];
      const text = await textFor(event, audience.member);
      if (!text) return [];
      return audience.to.map((to) => ({ ...to, replies: [{ text }] }));
    },
  };
}
export type FlowsService = ReturnType<typeof createFlows>;
