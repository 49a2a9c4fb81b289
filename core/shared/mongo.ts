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
