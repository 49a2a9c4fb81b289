import type { Connection, mongo } from 'mongoose';
import { isDuplicateKey } from '../shared/errors.js';
import { deleteInBatches } from '../shared/mongo.js';
import { importModels, type ImportChunkDoc, type ImportDoc, type ImportErrorDoc, type ImportOutcomeDoc, type ImportStagedDoc, type RowOutcome } from './import.model.js';
import type { ImportRow, RowError } from './import.row.js';

/** Inserts, skipping ids already there: a resumed import writes the same ids again and nothing doubles. */
async function insertAll(model: { collection: { insertMany(docs: never[], opts: { ordered: false }): Promise<unknown> } }, docs: object[]): Promise<void> {
  if (docs.length === 0) return;
  try {
    await model.collection.insertMany(docs as never[], { ordered: false });
  } catch (err) {
    const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
    const all = Array.isArray(writeErrors) ? (writeErrors as { code?: number }[]) : [];
    if (!isDuplicateKey(err) && !(all.length > 0 && all.every((e) => e.code === 11000))) throw err;
  }
}

/**
 * An import's own records: the import document, the uploaded file in pieces, the staged rows
 * (one per phone), what became of each (inserted once: on FerretDB v1 an update scans the whole
 * collection, an insert does not) and the row errors.
 */
export function createImportRepository(conn: Connection) {
  const { Imports, Chunks, Errors, Marks } = importModels(conn);
  /**
   * Each import's working rows (one per phone) and outcomes live in collections of its own,
   * dropped when it ends: dropping costs the same for ten rows or 100,000, while deleting
   * 100,000 documents from a shared collection took FerretDB v1 longer than the import itself.
   */
  const stagedOf = (importId: string) => conn.collection<ImportStagedDoc>(`import_rows_${importId}`);
  const outcomesOf = (importId: string) => conn.collection<ImportOutcomeDoc>(`import_outcomes_${importId}`);
  const importOf = (rowId: string): string => rowId.slice(0, rowId.indexOf(':'));
  const indexed = new Set<string>();
  const drop = async (coll: { drop(): Promise<boolean> }): Promise<void> => {
    try {
      await coll.drop();
    } catch (err) {
      // A collection never written (an import with no valid row) is not there to drop.
      if ((err as { code?: number }).code !== 26) throw err;
    }
  };
  return {
    async init(): Promise<void> {
      await Promise.all([Imports.createIndexes(), Chunks.createIndexes(), Errors.createIndexes(), Marks.createIndexes()]);
    },

    async insert(doc: ImportDoc): Promise<void> {
      await Imports.collection.insertOne(doc as never);
    },

    get(importId: string): Promise<ImportDoc | null> {
      return Imports.findById(importId).lean<ImportDoc>().exec();
    },

    async exists(importId: string): Promise<boolean> {
      return (await Imports.exists({ _id: importId })) !== null;
    },

    async set(importId: string, set: Partial<ImportDoc>): Promise<void> {
      await Imports.updateOne({ _id: importId }, { $set: set });
    },

    async addChunk(chunk: ImportChunkDoc): Promise<void> {
      await Chunks.collection.insertOne(chunk as never);
    },

    /** The uploaded file, piece by piece, in order. */
    async *fileBytes(importId: string): AsyncGenerator<Buffer> {
      for await (const c of Chunks.collection.find({ importId }).sort({ n: 1 })) {
        const data = c.data as Buffer | mongo.Binary;
        yield Buffer.isBuffer(data) ? data : Buffer.from(data.buffer);
      }
    },

    async dropChunks(importId: string): Promise<void> {
      await deleteInBatches(Chunks, { importId });
    },

    /** Forgets what an earlier read of this import staged, reported and applied (a read starts afresh). */
    async clearRead(importId: string): Promise<void> {
      await Promise.all([drop(stagedOf(importId)), deleteInBatches(Errors, { importId }), drop(outcomesOf(importId))]);
    },

    /** The file and the working rows; counts and errors stay. */
    async cleanUp(importId: string): Promise<void> {
      await Promise.all([deleteInBatches(Chunks, { importId }), drop(stagedOf(importId)), drop(outcomesOf(importId))]);
    },

    async stage(rows: ImportStagedDoc[]): Promise<void> {
      const first = rows[0];
      if (!first) return;
      const coll = stagedOf(first.importId);
      if (!indexed.has(coll.collectionName)) {
        await coll.createIndex({ row: 1 }, undefined, undefined);
        indexed.add(coll.collectionName);
      }
      await coll.insertMany(rows);
    },

    /** A staged row by its id (`<importId>:<phone>`). */
    staged(id: string): Promise<ImportStagedDoc | null> {
      return stagedOf(importOf(id)).findOne({ _id: id });
    },

    async restage(id: string, data: ImportRow): Promise<void> {
      await stagedOf(importOf(id)).updateOne({ _id: id }, { $set: { data } });
    },

    /** Staged rows after file row `afterRow`, in file order, from one cursor (one scan). */
    stagedAfter(importId: string, afterRow: number, batchSize: number): AsyncIterable<ImportStagedDoc> {
      return stagedOf(importId).find({ row: { $gt: afterRow } }).sort({ row: 1 }).batchSize(batchSize);
    },

    async addOutcomes(docs: ImportOutcomeDoc[]): Promise<void> {
      const first = docs[0];
      if (first) await insertAll({ collection: outcomesOf(first.importId) }, docs);
    },

    /** Rows applied so far. */
    countOutcomes(importId: string): Promise<number> {
      return outcomesOf(importId).countDocuments({});
    },

    /** Rows applied, by outcome, in one pass (four counts would read the outcomes four times). */
    async outcomeCounts(importId: string): Promise<Partial<Record<RowOutcome, number>>> {
      const rows = await outcomesOf(importId).aggregate<{ _id: RowOutcome; n: number }>([{ $group: { _id: '$outcome', n: { $sum: 1 } } }]).toArray();
      return Object.fromEntries(rows.map((r) => [r._id, r.n]));
    },

    addErrors: (docs: ImportErrorDoc[]): Promise<void> => insertAll(Errors, docs),

    countErrors(importId: string): Promise<number> {
      return Errors.countDocuments({ importId }).exec();
    },

    /** The first `limit` errors, in row order or (`byRow` false) as stored. */
    firstErrors(importId: string, limit: number, opts: { byRow: boolean }): Promise<RowError[]> {
      const q = Errors.find({ importId }, { _id: 0, importId: 0 });
      return (opts.byRow ? q.sort({ row: 1 }) : q).limit(limit).lean<RowError[]>().exec();
    },

    /** Every error of an import in row order, streamed. */
    async *errors(importId: string): AsyncGenerator<RowError> {
      for await (const e of Errors.find({ importId }).sort({ row: 1, column: 1 }).lean<RowError[]>().cursor()) yield { row: e.row, column: e.column, reason: e.reason };
    },
  };
}
export type ImportRepository = ReturnType<typeof createImportRepository>;
