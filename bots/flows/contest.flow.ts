import { CONTEST_CHANNELS, type ContestChannel } from '../../core/contests/contest.model.js';
import { CONTEST_REFUSAL_KEYS, contestRefusalReply } from '../../core/contests/contest.replies.js';
import type { ErrorCode } from '../../core/shared/errors.js';
import { contestAdminRoute, isAdmin } from './contest-admin.flow.js';
import type { FlowContext, Step } from './flow.context.js';
import type { Input, Keyboard, Reply } from './flow.types.js';
import { ACTION, mainMenu, menuActionFor } from './menu.js';
import { escapeHtml } from '../../core/shared/html.js';
import { formatDate } from './render.js';

/**
 * Entering a contest from a chat: `start` with the payload `contest_<id>` (a deep link), or the
 * button of a contest in `/contests` → the contest and "send your card number" → the next
 * text is the card number, passed to core.contests.enter. Only a member enters, with the card
 * of their own member (the core refuses anything else); someone who is not a member yet is
 * told to join first. `/twitch` gives a member the code that links their Twitch account for
 * stream giveaways. Every rule (Luhn, whose card, eligibility, one entry per card and account,
 * the throttles on wrong numbers) is the core's.
 *
 * The step is kept in the conversation state as `contest.number` with `contestId` in its data.
 * It is not one of the FlowContext steps (those are the join's and the menu's), so it is read
 * here from the repository, and only when the context shows no step of its own.
 */

export const CONTEST_STEP = 'contest.number' satisfies Step;
const CONTEST_PAYLOAD = /^contest_([A-Za-z0-9]{1,64})$/;
export const CONTEST_ID = /^[A-Za-z0-9]{1,64}$/;
const CANCEL_WORDS = new Set(['cancel', 'отмена', 'отменить', 'стоп', 'stop']);
/** Refusals after which another number cannot help: the step ends. Others (a wrong number) stay for a retry. */
const FINAL_REFUSALS: readonly ErrorCode[] = ['contest_not_found', 'contest_not_open', 'contest_already_entered'];

/** The contest channel this chat is (the terminal chat is none: contests run on social networks). */
function contestChannel(ctx: FlowContext): ContestChannel | null {
  const ch = ctx.sender.channel;
  return (CONTEST_CHANNELS as readonly string[]).includes(ch) ? (ch as ContestChannel) : null;
}

/** Members get their menu back; others keep whatever keyboard they have. */
function keyboardFor(ctx: FlowContext): Keyboard | undefined {
  return ctx.member ? mainMenu(ctx) : undefined;
}

function reply(ctx: FlowContext, text: string): Reply {
  const keyboard = keyboardFor(ctx);
  return keyboard ? { text, keyboard } : { text };
}

/** `/cmd` or `/cmd@bot` at the start of a text, lower case; null for a text that is no command. */
export function commandOf(text: string): string | null {
  const m = /^(\/[A-Za-z0-9_]+)(?:@\S+)?(?:\s|$)/.exec(text.trim());
  return m?.[1]?.toLowerCase() ?? null;
}

/** The contest the person is typing a card number for, if they are in that step. */
function pendingContest(ctx: FlowContext): string | null {
  const id = ctx.step === CONTEST_STEP ? ctx.data.contestId : undefined;
  return id !== undefined && CONTEST_ID.test(id) ? id : null;
}

/** Ends the step: the conversation goes back to the menu (a non-member's join starts over from there). */
async function leaveStep(ctx: FlowContext): Promise<void> {
  const data = { ...ctx.data };
  delete data.contestId;
  await ctx.save('menu', data);
}

function refusalText(ctx: FlowContext, err: unknown, levelName: (id: string) => string): { text: string; final: boolean } | null {
  const refusal = contestRefusalReply(err);
  if (!refusal) return null;
  const options: Record<string, unknown> = { ...refusal.options };
  if (typeof options.minLevel === 'string') options.minLevel = escapeHtml(levelName(options.minLevel));
  if (typeof options.joinedBefore === 'string') options.joinedBefore = formatDate(ctx.lang, options.joinedBefore);
  const code = (err as { code: ErrorCode }).code;
  return { text: ctx.t(refusal.key, options), final: FINAL_REFUSALS.includes(code) };
}

function notOpen(ctx: FlowContext): Reply {
  return reply(ctx, ctx.t(CONTEST_REFUSAL_KEYS.contest_not_open));
}

/** Shows the contest and asks for the card number (the step starts only for a contest taking entries here). */
export async function startContest(ctx: FlowContext, contestId: string): Promise<Reply[]> {
  const channel = contestChannel(ctx);
  if (!channel) return [notOpen(ctx)];
  let record;
  try {
    record = await ctx.deps.core.contests.publicRecord(contestId);
  } catch (err) {
    const refused = refusalText(ctx, err, (id) => id);
    if (!refused) throw err;
    return [reply(ctx, refused.text)];
  }
  if (record.status !== 'open' || !record.channels.includes(channel)) return [notOpen(ctx)];
  // Only a member's own card enters (the core's rule): nothing to ask a non-member for.
  if (!ctx.member) return [{ text: `<b>${escapeHtml(record.title)}</b>\n\n${ctx.t('contests:not_eligible.not_a_member')}` }];
  await ctx.save(CONTEST_STEP, { ...ctx.data, contestId });
  const lines = [`<b>${escapeHtml(record.title)}</b>`];
  if (record.description) lines.push(escapeHtml(record.description));
  lines.push(ctx.t('contests:ask_card', { title: escapeHtml(record.title) }), ctx.t('contests:bot.cancel_hint'));
  // A non-member may still have the join's share-phone button: it means nothing here.
  return [{ text: lines.join('\n\n'), keyboard: ctx.member ? mainMenu(ctx) : { kind: 'remove' } }];
}

async function enterReplies(ctx: FlowContext, contestId: string, cardInput: string): Promise<Reply[]> {
  const channel = contestChannel(ctx);
  if (!channel) {
    await leaveStep(ctx);
    return [notOpen(ctx)];
  }
  const { core } = ctx.deps;
  try {
    const r = await core.contests.enter({ contestId, channel, account: ctx.identity, cardInput });
    await leaveStep(ctx);
    const text = ctx.t('contests:entered', {
      title: escapeHtml(r.contest.title),
      masked: r.masked,
      entryId: `<code>${r.entryId}</code>`,
      closesAt: formatDate(ctx.lang, r.contest.closesAt),
    });
    return [reply(ctx, `${text}\n\n${ctx.t('contests:bot.entry_hint')}`)];
  } catch (err) {
    const settings = contestRefusalReply(err) ? await core.settings.current() : null;
    const levelName = (id: string): string => settings?.levels.find((l) => l.id === id)?.name[ctx.lang] ?? id;
    const refused = refusalText(ctx, err, levelName);
    if (!refused) throw err;
    if (refused.final) {
      await leaveStep(ctx);
      return [reply(ctx, refused.text)];
    }
    return [reply(ctx, `${refused.text}\n\n${ctx.t('contests:bot.cancel_hint')}`)];
  }
}

/** The answer while the card number is awaited; null when the input leaves the step for the normal routing. */
async function stepReplies(ctx: FlowContext, input: Input, contestId: string): Promise<Reply[] | null> {
  if (input.kind === 'contact') return [reply(ctx, `${ctx.t('contests:bot.ask_number_again')}\n\n${ctx.t('contests:bot.cancel_hint')}`)];
  if (input.kind !== 'text') {
    // A button or a /start: the person went elsewhere.
    await leaveStep(ctx);
    return null;
  }
  const text = input.text.trim();
  const word = text.replace(/^\//, '').toLowerCase();
  if (CANCEL_WORDS.has(word)) {
    await leaveStep(ctx);
    return [reply(ctx, ctx.t('contests:bot.cancelled'))];
  }
  // Commands and menu labels are never card numbers: they leave the step (and count as no wrong number).
  if (commandOf(text) !== null || menuActionFor(ctx.deps.i18n, text) !== null) {
    await leaveStep(ctx);
    return null;
  }
  return enterReplies(ctx, contestId, text);
}

/** `/contests` for everyone: the contests taking entries on this channel, a button each. */
export async function openContestsReplies(ctx: FlowContext): Promise<Reply[]> {
  const channel = contestChannel(ctx);
  const open = channel ? await ctx.deps.core.contests.list({ open: true, channel, limit: 20 }) : [];
  if (open.length === 0) return [reply(ctx, ctx.t('contests:bot.none_open'))];
  const lines = [ctx.t('contests:bot.open_title')];
  for (const c of open) lines.push(ctx.t('contests:bot.open_line', { title: escapeHtml(c.title), closesAt: formatDate(ctx.lang, c.closesAt) }));
  const rows = open.map((c) => [{ label: c.title.length > 60 ? `${c.title.slice(0, 59)}…` : c.title, action: ACTION.contest, arg: c.id }]);
  return [{ text: lines.join('\n'), keyboard: { kind: 'inline', rows } }];
}

/**
 * Contest inputs, for members and non-members, before the normal routing: a contest deep link
 * or button, the card-number step, the admin commands, `/contests`. Null: not a contest matter.
 */
export async function contestRoute(ctx: FlowContext, input: Input): Promise<Reply[] | null> {
  if (input.kind === 'start') {
    const id = CONTEST_PAYLOAD.exec(input.payload ?? '')?.[1];
    if (id) return startContest(ctx, id);
  }
  if (input.kind === 'action' && input.action === ACTION.contest && input.arg && CONTEST_ID.test(input.arg)) return startContest(ctx, input.arg);
  const pending = pendingContest(ctx);
  if (pending) {
    const answered = await stepReplies(ctx, input, pending);
    if (answered) return answered;
  }
  if (isAdmin(ctx)) {
    const answered = await contestAdminRoute(ctx, input);
    if (answered) return answered;
  }
  if (input.kind === 'text' && commandOf(input.text) === '/contests') return openContestsReplies(ctx);
  if (input.kind === 'text' && commandOf(input.text) === '/twitch') return twitchCodeReplies(ctx);
  return null;
}

/** `/twitch`: a one-time code that links the member's Twitch account when typed in a stream giveaway. */
async function twitchCodeReplies(ctx: FlowContext): Promise<Reply[]> {
  if (!ctx.member) return [{ text: ctx.t('contests:not_eligible.not_a_member') }];
  const { code, expiresAt } = await ctx.deps.core.accountLinks.issue(String(ctx.member._id), 'twitch');
  const minutes = Math.max(1, Math.round((expiresAt.getTime() - ctx.deps.core.clock.now().getTime()) / 60_000));
  return [reply(ctx, ctx.t('contests:bot.twitch_code', { code, count: minutes }))];
}
