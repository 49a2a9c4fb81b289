import { escapeHtml } from '../../core/shared/html.js';
import type { FlowContext } from './flow.context.js';
import type { Reply } from './flow.types.js';
import { mainMenu } from './menu.js';

/** Help: what each menu button does, and the programme rules when the store published them. */
export async function helpReplies(ctx: FlowContext): Promise<Reply[]> {
  const settings = await ctx.deps.core.settings.current();
  const blocks = [ctx.t('bot:help.text')];
  if (settings.rulesUrl) blocks.push(ctx.t('bot:help.rules', { url: escapeHtml(settings.rulesUrl) }));
  return [{ text: blocks.join('\n\n'), keyboard: mainMenu(ctx) }];
}

/** Anything the flows do not recognise: say so and show the menu again. */
export function unknownReplies(ctx: FlowContext): Reply[] {
  return [{ text: ctx.t('bot:unknown'), keyboard: mainMenu(ctx) }];
}

/** `/start` from a member: a greeting and the menu. */
export function memberStartReplies(ctx: FlowContext): Reply[] {
  return [{ text: ctx.t('bot:start.member', { name: escapeHtml(ctx.member?.name ?? '') }), keyboard: mainMenu(ctx) }];
}
