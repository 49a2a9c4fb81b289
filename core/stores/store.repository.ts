import { createHash, randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { mapDuplicateKey } from '../shared/errors.js';
import { storeModel, type StoreModel } from './store.model.js';

export interface Store {
  id: string;
  name: string;
  keyHint: string;
  cardPrefix: string | null;
  active: boolean;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function createStoreRepository(conn: Connection) {
  const Stores: StoreModel = storeModel(conn);
  const toStore = (d: { _id: unknown; name: string; keyHint: string; cardPrefix?: string | null; active: boolean }): Store => ({
    id: String(d._id),
    name: d.name,
    keyHint: d.keyHint,
    cardPrefix: d.cardPrefix ?? null,
    active: d.active,
  });
  return {
    async init(): Promise<void> {
      await Stores.createIndexes();
    },
    /** Inserts a store with a given key hash; a repeated hash becomes DuplicateKeyError. */
    async insert(input: { _id?: string; name: string; keyHash: string; keyHint: string; cardPrefix?: string | null }): Promise<Store> {
      const doc = { ...input, cardPrefix: input.cardPrefix ?? null };
      try {
        return toStore(await Stores.create(doc));
      } catch (err) {
        return mapDuplicateKey(err, Stores, doc);
      }
    },
    /** Creates a store with a fresh random key; the key is returned once and never stored. */
    async create(name: string, cardPrefix: string | null = null, id?: string): Promise<{ store: Store; key: string }> {
      const key = `sk_${randomBytes(24).toString('base64url')}`;
      const store = await this.insert({ ...(id ? { _id: id } : {}), name, keyHash: hashKey(key), keyHint: key.slice(0, 7), cardPrefix });
      return { store, key };
    },
    /** Every store, oldest first (keys are never listed, only their hints). */
    async list(): Promise<Store[]> {
      const docs = await Stores.find({}, { name: 1, keyHint: 1, cardPrefix: 1, active: 1 }).sort({ createdAt: 1 }).lean();
      return docs.map(toStore);
    },
    async findByKey(key: string): Promise<Store | null> {
      const d = await Stores.findOne({ keyHash: hashKey(key), active: true }).lean();
      return d ? toStore(d) : null;
    },
    async findById(id: string): Promise<Store | null> {
      const d = await Stores.findById(id).lean();
      return d ? toStore(d) : null;
    },
  };
}
export type StoreRepository = ReturnType<typeof createStoreRepository>;
