import type { Connection } from 'mongoose';
import { createConversationRepository } from '../../core/conversations/conversation.repository.js';
import type { Core } from '../../core/core.js';
import type { DomainEvent } from '../../core/events/event.types.js';
import type { I18n, Language } from '../../core/i18n/i18n.js';
import type { MemberDoc } from '../../core/members/member.model.js';
import type { Clock } from '../../core/shared/clock.js';
import { balanceReplies } from './balance.flow.js';
import { cardReplies, type CardWallet } from './card.flow.js';
import { contestRoute } from './contest.flow.js';
import { renderError } from './errors.render.js';
import { loadContext, type FlowContext, type FlowDeps } from './flow.context.js';
import type { ChatChannel, Flows, Input, Reply, Sender } from './flow.types.js';
import { helpReplies, memberStartReplies, unknownReplies } from './help.flow.js';
import { historyReplies } from './history.flow.js';
import { inviteReplies } from './invite.flow.js';
import { contactKeyboard, continueJoin } from './join.flow.js';
import { ACTION, mainMenu, menuActionFor } from './menu.js';
import { isInviteeReferral, levelChangedText, phoneVerificationText, pointsChangedText } from './notification.render.js';
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
  [ACTION.menu]: (ctx) => memberStartReplies(ctx),
  [ACTION.language]: (ctx, arg) => languageReplies(ctx, arg),
  [ACTION.notifications]: (ctx, arg) => notificationsReplies(ctx, arg),
  [ACTION.erase]: (ctx) => eraseAskReplies(ctx),
  [ACTION.eraseConfirm]: (ctx, arg) => eraseConfirmReplies(ctx, arg),
  // A consent button pressed again after joining: nothing to do, show the menu.
  [ACTION.consent]: (ctx) => memberStartReplies(ctx),
};

const CHAT_CHANNELS: readonly string[] = ['telegram', 'vk', 'console'] satisfies ChatChannel[];

/** A typed `/start <payload>` (the terminal chat) is the same as the channel's start. */
function normalizeInput(input: Input): Input {
  if (input.kind !== 'text') return input;
  const m = /^\/start(?:@\S+)?(?:\s+(\S+))?\s*$/.exec(input.text.trim());
  return m ? { kind: 'start', payload: m[1] } : input;
}

function splitIdentity(identity: string): { channel: ChatChannel; userId: string } | null {
  const colon = identity.indexOf(':');
  const channel = identity.slice(0, colon);
  const userId = identity.slice(colon + 1);
  return colon > 0 && userId !== '' && CHAT_CHANNELS.includes(channel) ? { channel: channel as ChatChannel, userId } : null;
}

/**
 * Bonuses of a registration made in a chat were announced in the join answer itself; telling
 * them again a moment later would say the same thing twice. A member who joined at the till
 * hears of them here.
 */
function toldAtJoin(event: Extract<DomainEvent, { type: 'points.changed' }>, member: MemberDoc): boolean {
  const fromJoin = event.data.operation === 'welcome' || isInviteeReferral(event);
  return fromJoin && CHAT_CHANNELS.includes(member.joinedVia);
}

/**
 * The conversation flows for every chat channel: an update in, the replies out. No channel code
 * and no programme rule here: rules are the core's; adapters parse updates and render replies.
 */
export function createFlows(deps: {
  core: Core;
  i18n: I18n;
  conn: Connection;
  links: { telegramBot?: string | undefined; vkCommunity?: string | undefined };
  policyUrl?: string;
  clock?: Clock;
  /** Apple Wallet, when configured: "My card" then carries the pass link (and file on Telegram). */
  wallet?: CardWallet | undefined;
}): Flows & { init(): Promise<void>; notification(event: DomainEvent): Promise<Notification[]> } {
  const conversations = createConversationRepository(deps.conn, { clock: deps.clock ?? deps.core.clock });
  const flowDeps: FlowDeps = { core: deps.core, i18n: deps.i18n, conversations, links: deps.links, policyUrl: deps.policyUrl };

  async function route(ctx: FlowContext, input: Input): Promise<Reply[]> {
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

  async function textFor(event: DomainEvent, member: MemberDoc): Promise<string | null> {
    if (event.type === 'points.changed') return toldAtJoin(event, member) ? null : pointsChangedText(deps.i18n, member.language, event);
    if (event.type === 'phone.verification') return phoneVerificationText(deps.i18n, member.language, event);
    if (event.type === 'contest.won') return deps.i18n.t(member.language, 'contests:won', { title: event.data.title, place: event.data.place });
    return levelChangedText(deps.i18n, member.language, event, await deps.core.settings.current());
  }

  return {
    async init() {
      await conversations.init();
    },

    async handle(sender: Sender, input: Input): Promise<Reply[]> {
      const ctx = await loadContext(flowDeps, sender);
      try {
        return await route(ctx, normalizeInput(input));
      } catch (err) {
        const keyboard = ctx.member ? mainMenu(ctx) : ctx.step === 'join.phone' ? contactKeyboard(ctx) : undefined;
        const reply = renderError(deps.i18n, ctx.lang, err, keyboard);
        if (!reply) throw err;
        return [reply];
      }
    },

    async languageOf(sender: Sender): Promise<Language> {
      return (await loadContext(flowDeps, sender)).lang;
    },

    async notification(event: DomainEvent): Promise<Notification[]> {
      if (!event.memberId) return [];
      const member = await deps.core.members.byId(event.memberId);
      // Transactional notices follow `notifications`; an erased member has it off and no chats.
      // A linking code is not a points notice: it goes out whatever `notifications` says.
      if (!member || member.status === 'erased' || (!member.notifications && event.type !== 'phone.verification')) return [];
      const text = await textFor(event, member);
      if (!text) return [];
      // A contest winner is told in the chat they entered from; everything else goes to every linked chat.
      const identities = event.type === 'contest.won' ? [event.data.account] : await conversations.chatIdentitiesOf(String(member._id));
      return identities.flatMap((identity) => {
        const to = splitIdentity(identity);
        return to ? [{ ...to, replies: [{ text }] }] : [];
      });
    },
  };
}
export type FlowsService = ReturnType<typeof createFlows>;
