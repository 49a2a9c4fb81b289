import { requireMember, type FlowContext, type FlowLinks } from './flow.context.js';
import type { Reply } from './flow.types.js';
import { mainMenu } from './menu.js';
import { escapeHtml } from '../../core/shared/html.js';

/** Personal invite links; the payload comes back to the flows as `/start ref_<code>`. */
export function inviteLinks(links: FlowLinks, code: string): { telegram?: string; vk?: string } {
  const out: { telegram?: string; vk?: string } = {};
  if (links.telegramBot) out.telegram = `https://t.me/${encodeURIComponent(links.telegramBot)}?start=ref_${encodeURIComponent(code)}`;
  if (links.vkCommunity) out.vk = `https://vk.me/${encodeURIComponent(links.vkCommunity)}?ref=${encodeURIComponent(code)}`;
  return out;
}

/** Invite a friend: the personal link(s), how many friends joined by them, points earned. */
export async function inviteReplies(ctx: FlowContext): Promise<Reply[]> {
  const { core } = ctx.deps;
  const member = requireMember(ctx);
  const [settings, stats] = await Promise.all([core.settings.current(), core.members.referralStats(String(member._id))]);
  const points = (count: number): string => ctx.t('bot:points', { count });

  const offer =
    settings.referral.bonus > 0 ? ctx.t('bot:invite.offer', { points: points(settings.referral.bonus) }) : ctx.t('bot:invite.offer_plain');
  const links = inviteLinks(ctx.deps.links, member.referralCode);
  const linkLines: string[] = [];
  if (links.telegram) linkLines.push(ctx.t('bot:invite.link_telegram', { url: escapeHtml(links.telegram) }));
  if (links.vk) linkLines.push(ctx.t('bot:invite.link_vk', { url: escapeHtml(links.vk) }));
  if (linkLines.length === 0) linkLines.push(ctx.t('bot:invite.code', { code: escapeHtml(member.referralCode) }));
  const statsText = ctx.t('bot:invite.stats', { friends: ctx.t('bot:friends', { count: stats.invited }), points: points(stats.points) });
  return [{ text: [offer, linkLines.join('\n'), statsText].join('\n\n'), keyboard: mainMenu(ctx) }];
}
