/** The part of a mongoose model insertRaw uses, typed here so a service needs no mongoose import. */
interface RawInsertable<T> {
  collection: { insertOne(doc: never): Promise<unknown> };
  /** Ties the document type to the model's. */
  hydrate(doc: T): unknown;
}

/**
 * Inserts a fully built document through the driver: no mongoose casting on hot paths, and
 * string `_id`s (card numbers, idempotency keys) which the driver's default typing rejects.
 */
export async function insertRaw<T extends { _id: unknown }>(model: RawInsertable<T>, doc: T): Promise<void> {
  await model.collection.insertOne(doc as never);
}

/** The part of a mongoose model deleteInBatches uses. */
interface BatchDeletable {
  find(filter: Record<string, unknown>, projection: { _id: 1 }): { limit(n: number): { lean<R>(): { exec(): Promise<R> } } };
  deleteMany(filter: Record<string, unknown>): { exec(): Promise<unknown> };
}

/**
 * deleteMany in pieces of `batch` documents. FerretDB v1 (SQLite) deletes the matched documents
 * by listing their ids in one SQL statement, which fails past SQLite's 32,766 variables ("too
 * many SQL variables": a 100,000-row import's working rows did); MongoDB does not mind either way.
 * Returns how many it deleted.
 */
export async function deleteInBatches(model: BatchDeletable, filter: Record<string, unknown>, batch = 5000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const ids = (await model.find(filter, { _id: 1 }).limit(batch).lean<{ _id: unknown }[]>().exec()).map((d) => d._id);
    if (ids.length === 0) return deleted;
    await model.deleteMany({ _id: { $in: ids } }).exec();
    deleted += ids.length;
    if (ids.length < batch) return deleted;
  }
}
