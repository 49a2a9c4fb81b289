import type { Model } from 'mongoose';

/**
 * Inserts a fully built document through the driver: no mongoose casting on hot paths, and
 * string `_id`s (card numbers, idempotency keys) which the driver's default typing rejects.
 */
export async function insertRaw<T extends { _id: unknown }>(model: Model<T>, doc: T): Promise<void> {
  await model.collection.insertOne(doc as unknown as Parameters<typeof model.collection.insertOne>[0]);
}
