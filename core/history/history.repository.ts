import type { Connection } from 'mongoose';
import { entryModel, type EntryDoc } from '../ledger/entry.model.js';
import { DomainError } from '../shared/errors.js';

export interface HistoryPage {
  /** Ledger entries, newest first. */
  items: EntryDoc[];
  /** Where the next (older) page starts; null on the last page. */
  nextCursor: string | null;
}

/** Opaque to callers: base64url of the last item's place in the card's ledger (its `seq`). */
function encodeCursor(e: EntryDoc): string {
  return Buffer.from(JSON.stringify({ seq: e.seq }), 'utf8').toString('base64url');
}

function decodeCursor(s: string): number | null {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { seq?: unknown };
    if (typeof v.seq === 'number' && Number.isSafeInteger(v.seq) && v.seq > 0) return v.seq;
  } catch {
    // not one of ours
  }
  return null;
}

/**
 * The one history pager, for the till API and the bots: a card's ledger entries, newest first,
 * a page at a time. A card's entries are numbered (`seq`, unique per card), so the keyset is
 * that number alone: one range read on the index `{card: 1, seq: 1}` however deep the page,
 * nothing lost or repeated even when several entries share a millisecond.
 */
export function createHistoryRepository(conn: Connection) {
  const Entries = entryModel(conn);
  return {
    /** Whether `cursor` is one this pager returned (a stale or forged one is not). */
    isCursor(cursor: string): boolean {
      return decodeCursor(cursor) !== null;
    },

    /** One page after `cursor` (the first page without one); a cursor we did not make is validation_failed. */
    async page(card: string, opts: { limit: number; cursor?: string | null | undefined }): Promise<HistoryPage> {
      const before = opts.cursor ? decodeCursor(opts.cursor) : null;
      if (opts.cursor && before === null) throw new DomainError('validation_failed', 'cursor is not one this API returned', { field: 'cursor' });
      const filter: Record<string, unknown> = { card };
      if (before !== null) filter.seq = { $lt: before };
      const rows = await Entries.find(filter).sort({ seq: -1 }).limit(opts.limit + 1).lean<EntryDoc[]>();
      const items = rows.slice(0, opts.limit);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > opts.limit && last ? encodeCursor(last) : null };
    },
  };
}
