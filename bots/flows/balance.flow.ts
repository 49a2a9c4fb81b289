import { memberCard, type FlowContext } from './flow.context.js';
import type { Reply } from './flow.types.js';
import { mainMenu } from './menu.js';
import { percentOf } from '../../core/programme/rules.js';
import { escapeHtml } from '../../core/shared/html.js';
import { formatDate, roublesUp } from './render.js';

/** How many expiry dates the balance lists (the nearest ones). */
const EXPIRY_DATES_SHOWN = 3;

/** Balance: points, level and its percent, what the next level needs, what expires when. */
export async function balanceReplies(ctx: FlowContext): Promise<Reply[]> {
  const { core } = ctx.deps;
  const [card, settings] = await Promise.all([memberCard(ctx), core.settings.current()]);
  const view = core.cards.view(card, settings);
  const points = (count: number): string => ctx.t('bot:points', { count });

  const head = [
    ctx.t('bot:balance.points', { points: points(view.balance) }),
    ctx.t('bot:balance.level', { level: escapeHtml(view.level.name[ctx.lang]), percent: percentOf(view.level.percentBp) }),
  ];
  if (view.next) {
    head.push(
      ctx.t('bot:balance.next', {
        level: escapeHtml(view.next.name[ctx.lang]),
        percent: percentOf(view.next.percentBp),
        amount: roublesUp(view.next.remainingKopecks),
      }),
    );
  } else if (settings.levels.at(-1)?.id === view.level.id) {
    head.push(ctx.t('bot:balance.top'));
  }
  if (view.debt > 0) head.push(ctx.t('bot:balance.debt', { points: points(view.debt) }));

  const blocks = [head.join('\n')];
  const expiring = view.expiring.filter((e) => e.points > 0).slice(0, EXPIRY_DATES_SHOWN);
  if (expiring.length > 0) {
    const lines = expiring.map((e) => ctx.t('bot:balance.expiring_line', { points: points(e.points), date: formatDate(ctx.lang, e.date) }));
    blocks.push([ctx.t('bot:balance.expiring'), ...lines].join('\n'));
  }
  return [{ text: blocks.join('\n\n'), keyboard: mainMenu(ctx) }];
}
