import type { EntryDoc } from '../../core/ledger/entry.model.js';
import type { EntryType } from '../../core/ledger/ledger.types.js';
import { memberCard, type FlowContext } from './flow.context.js';
import type { Button, Reply } from './flow.types.js';
import { ACTION, mainMenu } from './menu.js';
import { formatDate, signedNumber } from './render.js';

export const HISTORY_PAGE_SIZE = 5;

const TYPE_KEYS: Record<EntryType, string> = {
  purchase: 'bot:history.type.purchase',
  refund: 'bot:history.type.refund',
  welcome: 'bot:history.type.welcome',
  referral: 'bot:history.type.referral',
  expiry: 'bot:history.type.expiry',
  adjustment: 'bot:history.type.adjustment',
  import: 'bot:history.type.import',
  level: 'bot:history.type.level',
};

/** Where a page starts: the entries of the card before transition `seq` (the ledger's own order). */
function encode(seq: number | null): string {
  return seq === null ? '' : String(seq);
}

function decode(s: string): number | null {
  return /^\d{1,12}$/.test(s) ? Number(s) : null;
}

async function fetchPage(ctx: FlowContext, card: string, beforeSeq: number | null): Promise<{ shown: EntryDoc[]; hasOlder: boolean; next: number | null }> {
  const fetched = await ctx.deps.core.ledger.history(card, HISTORY_PAGE_SIZE + 1, beforeSeq ?? undefined);
  const shown = fetched.slice(0, HISTORY_PAGE_SIZE);
  return { shown, hasOlder: fetched.length > HISTORY_PAGE_SIZE, next: shown.at(-1)?.seq ?? null };
}

/** "+21", or "−100 / +21" for an entry of several movements (a purchase paid partly with points). */
function amountOf(ctx: FlowContext, e: EntryDoc): string {
  const moved = e.lines.filter((l) => l.amount !== 0);
  return moved.length > 1 ? moved.map((l) => signedNumber(ctx.lang, l.amount)).join(' / ') : signedNumber(ctx.lang, e.amount);
}

/**
 * History: the latest movements, HISTORY_PAGE_SIZE a page, with older/newer buttons. The
 * buttons carry the page number; each page's cursor is kept in the dialogue state.
 */
export async function historyReplies(ctx: FlowContext, arg?: string): Promise<Reply[]> {
  const card = await memberCard(ctx);
  const requested = arg !== undefined && /^\d{1,4}$/.test(arg) ? Number(arg) : 0;
  const cursors = ctx.data.history ?? [''];
  // A button from an old message whose page is no longer known starts again from the top.
  const cursor = requested > 0 && requested < cursors.length ? decode(cursors[requested] ?? '') : null;
  const page = cursor ? requested : 0;
  const { shown, hasOlder, next } = await fetchPage(ctx, card._id, cursor);

  if (shown.length === 0) return [{ text: ctx.t('bot:history.empty'), keyboard: mainMenu(ctx) }];
  const history = [...cursors.slice(0, page + 1), ...(hasOlder ? [encode(next)] : [])];
  await ctx.save('menu', { ...ctx.data, history });

  const lines = shown.map((e) =>
    ctx.t('bot:history.line', { date: formatDate(ctx.lang, new Date(e.createdAt), 'short'), type: ctx.t(TYPE_KEYS[e.type]), amount: amountOf(ctx, e) }),
  );
  const buttons: Button[] = [];
  if (page > 0) buttons.push({ label: ctx.t('bot:history.newer'), action: ACTION.history, arg: String(page - 1) });
  if (hasOlder) buttons.push({ label: ctx.t('bot:history.older'), action: ACTION.history, arg: String(page + 1) });
  const text = [ctx.t('bot:history.title', { page: page + 1 }), ...lines].join('\n');
  return [{ text, keyboard: buttons.length > 0 ? { kind: 'inline', rows: [buttons] } : mainMenu(ctx) }];
}
