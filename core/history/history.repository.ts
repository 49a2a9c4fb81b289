import type { Connection } from 'mongoose';
import { entryModel, type EntryDoc } from '../ledger/entry.model.js';
import { DomainError } from '../shared/errors.js';

export interface HistoryPage {
  /** Applied movements, newest first. */
  items: EntryDoc[];
  /** Where the next (older) page starts; null on the last page. */
  nextCursor: string | null;
}

interface Cursor {
  at: Date;
  id: string;
}

/** Opaque to callers: base64url of the last item's time and id (a keyset position). */
function encodeCursor(e: EntryDoc): string {
  return Buffer.from(JSON.stringify({ at: new Date(e.createdAt).toISOString(), id: e._id })).toString('base64url');
}

function decodeCursor(s: string): Cursor | null {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { at?: unknown; id?: unknown };
    const at = typeof v.at === 'string' ? new Date(v.at) : null;
    if (at && !Number.isNaN(at.getTime()) && typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 512) return { at, id: v.id };
  } catch {
    // not one of ours
  }
  return null;
}

/**
 * The one history pager, for the till API and the bots: a card's applied movements, newest
 * first, a page at a time. Keyset paging on the index `{card: 1, createdAt: -1}` with `_id` as
 * the tie-break (several movements share a millisecond: a purchase's redemption and accrual),
 * so a page costs one index range read however deep it is, and nothing is lost or repeated.
 * The position is compared by the server itself ($lt on createdAt, then on _id within the same
 * millisecond), so its order and the sort's always agree, on MongoDB and on FerretDB.
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
      const cursor = opts.cursor ? decodeCursor(opts.cursor) : null;
      if (opts.cursor && !cursor) throw new DomainError('validation_failed', 'cursor is not one this API returned', { field: 'cursor' });
      const filter: Record<string, unknown> = { card, status: 'applied' };
      if (cursor) filter.$or = [{ createdAt: { $lt: cursor.at } }, { createdAt: cursor.at, _id: { $lt: cursor.id } }];
      const rows = await Entries.find(filter).sort({ createdAt: -1, _id: -1 }).limit(opts.limit + 1).lean<EntryDoc[]>();
      const items = rows.slice(0, opts.limit);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > opts.limit && last ? encodeCursor(last) : null };
    },
  };
}
