import type { AdminContestView } from '../../core/contests/contest.views.js';
import { mayRunContests } from '../../core/contests/contest.admin.js';
import { CONTEST_CHANNELS } from '../../core/contests/contest.model.js';
import type { ContestInvalidReason } from '../../core/contests/contest.service.js';
import { DomainError } from '../../core/shared/errors.js';
import type { FlowContext } from './flow.context.js';
import type { Button, Input, Reply } from './flow.types.js';
import { helpReplies } from './help.flow.js';
import { ACTION, mainMenu, menuActionFor } from './menu.js';
import { escapeHtml } from '../../core/shared/html.js';
import { formatDate } from './render.js';

/**
 * Contests run from the chat by members with the role 'admin':
 *   /contest_new <closes> <prizes> <title>[ | <description>] — creates a contest on every contest channel;
 *     <closes> is YYYY-MM-DD (entries until the end of that day, UTC) or an ISO date-time;
 *   /contests — every recent contest with its live entry count; Close / Draw once it is past its closing time;
 *   /contest_close <id> <reason> — closes early; the reason is published with the record.
 * For anyone else none of this exists: the input goes on to the normal routing (unknown command).
 */

const CONTEST_ID = /^[A-Za-z0-9]{1,64}$/;
const LIST_LIMIT = 10;

/** Whether this chat's member runs contests: the core's rule. */
export function isAdmin(ctx: FlowContext): boolean {
  return mayRunContests(ctx.member);
}

function commandParts(text: string): { command: string; rest: string } | null {
  const m = /^(\/[A-Za-z0-9_]+)(?:@\S+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
  return m?.[1] ? { command: m[1].toLowerCase(), rest: (m[2] ?? '').trim() } : null;
}

/** `2026-04-01` → the end of that day (UTC); an ISO date-time as written; null if neither. */
export function parseCloses(raw: string): Date | null {
  if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) {
    const d = new Date(`${raw}T23:59:59.999Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === raw ? d : null;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) return null;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? null : d;
}

const INVALID_KEYS: Record<ContestInvalidReason, string> = {
  title_length: 'contests:bot.admin.invalid_reason.title_length',
  description_length: 'contests:bot.admin.invalid_reason.description_length',
  prizes_range: 'contests:bot.admin.invalid_reason.prizes_range',
  channels: 'contests:bot.admin.invalid_reason.channels',
  date: 'contests:bot.admin.invalid_reason.date',
  closes_before_opens: 'contests:bot.admin.invalid_reason.closes_before_opens',
  closes_past: 'contests:bot.admin.invalid_reason.closes_past',
  min_level: 'contests:bot.admin.invalid_reason.min_level',
};

function invalidReason(ctx: FlowContext, err: DomainError): string {
  const reason = err.details.reason;
  const key = typeof reason === 'string' && reason in INVALID_KEYS ? INVALID_KEYS[reason as ContestInvalidReason] : 'contests:bot.admin.invalid_reason.other';
  return ctx.t(key, { max: err.details.max });
}

function adminReply(ctx: FlowContext, text: string, buttons?: Button[][]): Reply {
  return buttons && buttons.length > 0 ? { text, keyboard: { kind: 'inline', rows: buttons } } : { text, keyboard: mainMenu(ctx) };
}

function usage(ctx: FlowContext, problem?: string): Reply[] {
  const lines = problem ? [problem, ctx.t('contests:bot.admin.usage')] : [ctx.t('contests:bot.admin.usage')];
  return [adminReply(ctx, lines.join('\n\n'))];
}

async function createReplies(ctx: FlowContext, args: string): Promise<Reply[]> {
  const m = /^(\S+)\s+(\d{1,4})\s+([\s\S]+)$/.exec(args);
  if (!m) return usage(ctx);
  const closesAt = parseCloses(m[1] ?? '');
  if (!closesAt) return usage(ctx, ctx.t('contests:bot.admin.bad_date'));
  const [title = '', description = ''] = (m[3] ?? '').split('|', 2).map((s) => s.trim());
  let created;
  try {
    created = await ctx.deps.core.contests.create({ title, description, prizes: Number(m[2]), channels: [...CONTEST_CHANNELS], closesAt });
  } catch (err) {
    // The core says why in its details; the admin reads it in their own language.
    if (err instanceof DomainError && err.code === 'validation_failed') return usage(ctx, ctx.t('contests:bot.admin.invalid', { reason: invalidReason(ctx, err) }));
    throw err;
  }
  const lines = [
    ctx.t('contests:admin.created', { title: escapeHtml(title), commitment: `<code>${created.commitment}</code>` }),
    ctx.t('contests:bot.admin.id', { id: `<code>${created.id}</code>`, closesAt: formatDate(ctx.lang, closesAt) }),
  ];
  const { telegramBot, vkCommunity } = ctx.deps.links;
  const links = [
    ...(telegramBot ? [`https://t.me/${telegramBot}?start=contest_${created.id}`] : []),
    ...(vkCommunity ? [`https://vk.me/${vkCommunity}?ref=contest_${created.id}`] : []),
  ];
  if (links.length > 0) lines.push(ctx.t('contests:bot.admin.links', { links: links.map(escapeHtml).join('\n') }));
  return [adminReply(ctx, lines.join('\n\n'), [[{ label: ctx.t('contests:bot.admin.list_button'), action: ACTION.contestList }]])];
}

function buttonsFor(ctx: FlowContext, c: AdminContestView): Button[][] {
  if (c.status === 'drawn') return [[{ label: ctx.t('contests:bot.admin.results_button'), action: ACTION.contestDraw, arg: c.id }]];
  // An open contest closes by itself at its published closing time (early only with /contest_close and a reason).
  if (c.status !== 'closed') return [];
  const draw = { label: ctx.t('contests:bot.admin.draw_button'), action: ACTION.contestDraw, arg: c.id };
  // A contest past its closing time is closed for entries but not sealed yet: Close seals it.
  return [c.entriesDigest ? [draw] : [{ label: ctx.t('contests:bot.admin.close_button'), action: ACTION.contestClose, arg: c.id }, draw]];
}

function summary(ctx: FlowContext, c: AdminContestView): string {
  const lines = [
    `<b>${escapeHtml(c.title)}</b>`,
    ctx.t('contests:bot.admin.summary', {
      status: ctx.t(`contests:bot.status.${c.status}`),
      entries: ctx.t('contests:admin.entries', { count: c.entries }),
      prizes: c.prizes,
      closesAt: formatDate(ctx.lang, c.closesAt),
    }),
    `<code>${c.id}</code>`,
  ];
  if (c.status === 'open' || c.status === 'scheduled') lines.push(ctx.t('contests:bot.admin.closes_itself', { closesAt: formatDate(ctx.lang, c.closesAt), id: c.id }));
  if (c.closeReason) lines.push(ctx.t('contests:bot.admin.closed_early', { reason: escapeHtml(c.closeReason) }));
  return lines.join('\n');
}

/** One message per contest, with its own buttons. */
async function listReplies(ctx: FlowContext): Promise<Reply[]> {
  const contests = await ctx.deps.core.contests.list({ limit: LIST_LIMIT });
  if (contests.length === 0) return usage(ctx, ctx.t('contests:bot.admin.none'));
  return contests.map((c) => adminReply(ctx, summary(ctx, c), buttonsFor(ctx, c)));
}

async function closeReplies(ctx: FlowContext, id: string, reason?: string): Promise<Reply[]> {
  let c;
  try {
    c = await ctx.deps.core.contests.close(id, reason);
  } catch (err) {
    // Before its closing time a contest closes only with a reason, which is published.
    if (err instanceof DomainError && err.code === 'validation_failed' && err.details.reason === 'early_close_reason') return [adminReply(ctx, ctx.t('contests:bot.admin.close_usage'))];
    throw err;
  }
  const lines = [
    ctx.t('contests:admin.closed', { title: escapeHtml(c.title), entriesDigest: `<code>${c.entriesDigest ?? ''}</code>` }),
    ctx.t('contests:admin.entries', { count: c.entries }),
  ];
  if (c.closeReason) lines.push(ctx.t('contests:bot.admin.closed_early', { reason: escapeHtml(c.closeReason) }));
  return [adminReply(ctx, lines.join('\n\n'), buttonsFor(ctx, c))];
}

/** `/contest_close <id> <reason>`: an early close, its reason published. */
async function closeCommand(ctx: FlowContext, args: string): Promise<Reply[]> {
  const m = /^(\S+)\s+([\s\S]+)$/.exec(args);
  const id = m?.[1];
  if (!id || !CONTEST_ID.test(id)) return [adminReply(ctx, ctx.t('contests:bot.admin.close_usage'))];
  return closeReplies(ctx, id, m[2]);
}

/** The draw (repeating it shows the same result) with what the public record shows for checking it. */
async function drawReplies(ctx: FlowContext, id: string): Promise<Reply[]> {
  const { contest: c, winners } = await ctx.deps.core.contests.draw(id);
  const lines = [ctx.t('contests:admin.drawn', { title: escapeHtml(c.title) })];
  if (winners.length === 0) lines.push(ctx.t('contests:admin.no_winners'));
  else lines.push(winners.map((w) => ctx.t('contests:admin.winner', { place: w.place, masked: w.masked, channel: w.channel })).join('\n'));
  lines.push(
    ctx.t('contests:bot.admin.record', {
      entries: ctx.t('contests:admin.entries', { count: c.entries }),
      commitment: `<code>${c.commitment}</code>`,
      entriesDigest: `<code>${c.entriesDigest ?? ''}</code>`,
      seed: `<code>${c.seed ?? ''}</code>`,
    }),
  );
  return [adminReply(ctx, lines.join('\n\n'))];
}

/** Admin inputs (the caller checked isAdmin); null for anything else. */
export async function contestAdminRoute(ctx: FlowContext, input: Input): Promise<Reply[] | null> {
  if (!isAdmin(ctx)) return null;
  if (input.kind === 'action') {
    const id = input.arg && CONTEST_ID.test(input.arg) ? input.arg : null;
    if (input.action === ACTION.contestClose && id) return closeReplies(ctx, id);
    if (input.action === ACTION.contestDraw && id) return drawReplies(ctx, id);
    if (input.action === ACTION.contestList) return listReplies(ctx);
    if (input.action === ACTION.help) return adminHelp(ctx);
    return null;
  }
  if (input.kind !== 'text') return null;
  const cmd = commandParts(input.text);
  if (cmd?.command === '/contests') return listReplies(ctx);
  if (cmd?.command === '/contest_new') return createReplies(ctx, cmd.rest);
  if (cmd?.command === '/contest_close') return closeCommand(ctx, cmd.rest);
  if (menuActionFor(ctx.deps.i18n, input.text) === ACTION.help) return adminHelp(ctx);
  return null;
}

/** The member's help, then the admin commands. */
async function adminHelp(ctx: FlowContext): Promise<Reply[]> {
  return [{ text: ctx.t('contests:bot.admin.help') }, ...(await helpReplies(ctx))];
}
