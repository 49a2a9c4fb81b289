import type { EntryDoc } from '../../core/ledger/entry.model.js';
import type { EntryType } from '../../core/ledger/ledger.types.js';
import { memberCard, type FlowContext } from './flow.context.js';
import type { Button, Reply } from './flow.types.js';
import { ACTION, mainMenu } from './menu.js';
import { formatDate, signedNumber } from './render.js';

export const HISTORY_PAGE_SIZE = 5;

const TYPE_KEYS: Record<EntryType, string> = {
  accrual: 'bot:history.type.accrual',
  redemption: 'bot:history.type.redemption',
  refund_clawback: 'bot:history.type.refund_clawback',
  refund_return: 'bot:history.type.refund_return',
  welcome: 'bot:history.type.welcome',
  referral: 'bot:history.type.referral',
  expiry: 'bot:history.type.expiry',
  adjustment: 'bot:history.type.adjustment',
};

/**
 * Where a page starts: entries at or before `ms`, skipping the first `skip` of them (those
 * with exactly `ms` that earlier pages showed). The ledger pages by "created before", and
 * several movements can share a millisecond (a purchase's redemption and accrual), so a bare
 * timestamp would drop some of them.
 */
interface Cursor {
  ms: number;
  skip: number;
}

function encode(c: Cursor | null): string {
  return c ? `${c.ms}.${c.skip}` : '';
}

function decode(s: string): Cursor | null {
  const m = /^(\d{1,15})\.(\d{1,6})$/.exec(s);
  return m ? { ms: Number(m[1]), skip: Number(m[2]) } : null;
}

async function fetchPage(ctx: FlowContext, card: string, cursor: Cursor | null): Promise<{ shown: EntryDoc[]; hasOlder: boolean; next: Cursor | null }> {
  const skip = cursor?.skip ?? 0;
  const fetched = await ctx.deps.core.ledger.history(card, HISTORY_PAGE_SIZE + 1 + skip, cursor ? new Date(cursor.ms + 1) : undefined);
  const shown = fetched.slice(skip, skip + HISTORY_PAGE_SIZE);
  const hasOlder = fetched.length > skip + HISTORY_PAGE_SIZE;
  const last = shown.at(-1);
  if (!last) return { shown, hasOlder: false, next: null };
  const lastMs = new Date(last.createdAt).getTime();
  // Everything fetched up to the last shown entry with its timestamp: the next page skips those.
  const same = fetched.slice(0, skip + shown.length).filter((e) => new Date(e.createdAt).getTime() === lastMs).length;
  return { shown, hasOlder, next: { ms: lastMs, skip: same } };
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
    ctx.t('bot:history.line', { date: formatDate(ctx.lang, new Date(e.createdAt), 'short'), type: ctx.t(TYPE_KEYS[e.type]), amount: signedNumber(ctx.lang, e.amount) }),
  );
  const buttons: Button[] = [];
  if (page > 0) buttons.push({ label: ctx.t('bot:history.newer'), action: ACTION.history, arg: String(page - 1) });
  if (hasOlder) buttons.push({ label: ctx.t('bot:history.older'), action: ACTION.history, arg: String(page + 1) });
  const text = [ctx.t('bot:history.title', { page: page + 1 }), ...lines].join('\n');
  return [{ text, keyboard: buttons.length > 0 ? { kind: 'inline', rows: [buttons] } : mainMenu(ctx) }];
}
