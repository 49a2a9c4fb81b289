import type { Connection } from 'mongoose';
import { cardModel, type CardDoc } from '../cards/card.model.js';
import { isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import { entryModel, ledgerMetaModel, type EntryDoc } from './entry.model.js';
import type { CardState } from './ledger.plan.js';

/** Which process waits for a turn on a card, and until when. */
export interface Contended {
  by: string;
  until: Date;
}

/**
 * The ledger's MongoDB access. Every hot-path command addresses one document by `_id`: that is
 * what both MongoDB and the embedded FerretDB answer from an index (FerretDB v1 evaluates any
 * other filter by reading the whole collection).
 */
export function createLedgerRepository(conn: Connection, opts: { guardedCardWrites: boolean }) {
  const Cards = cardModel(conn);
  const Entries = entryModel(conn);
  const Meta = ledgerMetaModel(conn);
  return {
    async init(): Promise<void> {
      await Promise.all([Cards.createIndexes(), Entries.createIndexes()]);
    },

    card(id: string): Promise<CardDoc | null> {
      return Cards.findById(id).lean<CardDoc>().exec();
    },

    /** The commit: `inserted`, or which unique key was taken (`key`: this idempotency key exists). */
    async insertEntry(doc: EntryDoc): Promise<'inserted' | 'taken'> {
      try {
        await insertRaw(Entries, doc);
        return 'inserted';
      } catch (err) {
        if (isDuplicateKey(err)) return 'taken';
        throw err;
      }
    },

    entry(key: string): Promise<EntryDoc | null> {
      return Entries.findById(key).lean<EntryDoc>().exec();
    },

    /** The entry that took a card's transition `seq` (an index look-up on MongoDB, a scan on FerretDB: rare, see docs/ledger.md). */
    entryAt(card: string, seq: number): Promise<EntryDoc | null> {
      return Entries.findOne({ card, seq }).lean<EntryDoc>().exec();
    },

    /**
     * Folds entries into the card: the ledger fields and `version` in one atomic update. On
     * MongoDB the write only moves forward (`version < next`), so a late writer never steps
     * back. FerretDB v1 would read the whole collection for that filter; there the write is by
     * `_id` alone: all its writes go through one serialized lane, and a late write can only put
     * back an older but consistent fold, which the next writer (its slot insert fails) or the
     * sweep folds forward again (docs/ledger.md, "FerretDB").
     */
    async writeCard(id: string, state: CardState, version: number, now: Date): Promise<{ contended: Contended | null }> {
      const filter: Record<string, unknown> = opts.guardedCardWrites ? { _id: id, version: { $lt: version } } : { _id: id };
      // Returns the card's `contended` mark in the same command (see markContended). No
      // projection: FerretDB v1's findAndModify does not take one.
      const after = await Cards.collection.findOneAndUpdate(filter, { $set: { ...state, version, updatedAt: now } }, { returnDocument: 'after' });
      return { contended: (after?.contended as Contended | undefined) ?? null };
    },

    /**
     * Another process lost the race for this card's next slot and waits for a turn: it says so
     * on the card (not a ledger field), and the process that keeps winning lets it in.
     */
    async markContended(id: string, mark: Contended): Promise<void> {
      await Cards.collection.updateOne({ _id: id } as Record<string, unknown>, { $set: { contended: mark } });
    },

    /** Entries written since `since` (after `afterId` among those of that very instant), oldest first: the sweep's work list. */
    entriesSince(since: Date, limit: number): Promise<EntryDoc[]> {
      return Entries.find({ createdAt: { $gte: since } }).sort({ createdAt: 1, _id: 1 }).limit(limit).lean<EntryDoc[]>().exec();
    },

    /** When the last sweep started (null before the first). */
    async sweptAt(): Promise<Date | null> {
      const d = await Meta.findById('sweep').lean();
      return d?.at ?? null;
    },

    async setSweptAt(at: Date): Promise<void> {
      await Meta.updateOne({ _id: 'sweep' }, { $set: { at } }, { upsert: true });
    },

    /** A card's entries newest first, before transition `beforeSeq` (exclusive). */
    history(card: string, limit: number, beforeSeq?: number): Promise<EntryDoc[]> {
      const filter: Record<string, unknown> = { card };
      if (beforeSeq !== undefined) filter.seq = { $lt: beforeSeq };
      return Entries.find(filter).sort({ seq: -1 }).limit(limit).lean<EntryDoc[]>().exec();
    },

    async sum(filter: Record<string, unknown>): Promise<number> {
      const rows = await Entries.aggregate<{ total: number }>([{ $match: filter }, { $group: { _id: null, total: { $sum: '$amount' } } }]);
      return rows[0]?.total ?? 0;
    },

    /** Cards holding a lot that expired by `now` (the hourly expiry job). */
    cardsWithDueLots(now: Date, limit: number): Promise<Pick<CardDoc, '_id'>[]> {
      return Cards.find({ 'lots.expiresAt': { $lte: now } }, { _id: 1 }).limit(limit).lean<Pick<CardDoc, '_id'>[]>().exec();
    },
  };
}
export type LedgerRepository = ReturnType<typeof createLedgerRepository>;
