import { partnerLines, partnerLineText } from '../../core/partners/partner.text.js';
import { escapeHtml } from '../../core/shared/html.js';
import { memberCard, type FlowContext } from './flow.context.js';
import type { Reply } from './flow.types.js';
import { mainMenu } from './menu.js';

/** "Where the card works": the programme's partners and their terms at this member's level. */
export async function partnersReplies(ctx: FlowContext): Promise<Reply[]> {
  const { core } = ctx.deps;
  const card = await memberCard(ctx);
  const settings = await core.settings.current();
  const partners = await core.partners.all();
  const title = `<b>${ctx.t('partners:title')}</b>`;
  if (partners.length === 0) return [{ text: `${title}\n\n${ctx.t('partners:none')}`, keyboard: mainMenu(ctx) }];
  const level = core.cards.view(card, settings).level;
  const lines = partnerLines(settings, level, partners).map((l) => `• ${escapeHtml(partnerLineText(ctx.deps.i18n, ctx.lang, l))}`);
  return [{ text: [title, '', ctx.t('partners:intro'), ...lines].join('\n'), keyboard: mainMenu(ctx) }];
}
