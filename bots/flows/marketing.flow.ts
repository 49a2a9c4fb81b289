import type { BroadcastChannel } from '../../core/broadcasts/broadcast.types.js';
import { requireMember, type FlowContext } from './flow.context.js';
import type { Reply } from './flow.types.js';
import { ACTION, mainMenu } from './menu.js';

/** The marketing channels a choice made in this chat covers: this chat, and the Wallet card. */
const channelsOf = (ctx: FlowContext): BroadcastChannel[] => (ctx.sender.channel === 'console' ? ['wallet'] : [ctx.sender.channel, 'wallet']);

/** Whether this member gets offers in this chat now. */
export function marketingOn(ctx: FlowContext): boolean {
  const m = requireMember(ctx);
  const channel = ctx.sender.channel === 'console' ? 'wallet' : ctx.sender.channel;
  return m.optIn[channel] === true && (Boolean(m.optInAt) || Boolean(m.imported));
}

/** The question asked once, right after joining: offers here, yes or no (a choice of its own, apart from the data consent). */
export async function marketingQuestion(ctx: FlowContext): Promise<Reply> {
  const cap = (await ctx.deps.core.settings.current()).marketing.frequencyCap;
  return {
    text: ctx.t('bot:marketing.ask', { count: cap.max }),
    keyboard: {
      kind: 'inline',
      rows: [
        [
          { label: ctx.t('bot:marketing.yes'), action: ACTION.marketing, arg: 'yes' },
          { label: ctx.t('bot:marketing.no'), action: ACTION.marketing, arg: 'no' },
        ],
      ],
    },
  };
}

/** The answer to the question, or the settings switch. */
export async function marketingReplies(ctx: FlowContext, arg: string | undefined): Promise<Reply[]> {
  const member = requireMember(ctx);
  if (arg !== 'yes' && arg !== 'no') return [await marketingQuestion(ctx)];
  await ctx.deps.core.broadcasts.setMarketing(String(member._id), channelsOf(ctx), arg === 'yes');
  return [{ text: ctx.t(arg === 'yes' ? 'bot:marketing.set_on' : 'bot:marketing.set_off'), keyboard: mainMenu(ctx) }];
}

/** A broadcast's one-tap unsubscribe button: no more offers in this chat, from now on. */
export async function unsubscribeReplies(ctx: FlowContext, broadcastId: string | undefined): Promise<Reply[]> {
  const member = requireMember(ctx);
  if (ctx.sender.channel !== 'console') await ctx.deps.core.broadcasts.unsubscribe(String(member._id), ctx.sender.channel, broadcastId);
  return [{ text: ctx.t('bot:broadcast.unsubscribed'), keyboard: mainMenu(ctx) }];
}
