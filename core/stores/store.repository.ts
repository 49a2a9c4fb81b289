import { createHash, randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey, mapDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import { storeKeyModel, type StoreKeyDoc } from './store-key.model.js';
import { storeModel, type StoreModel } from './store.model.js';

export interface Store {
  id: string;
  name: string;
  keyHint: string;
  cardPrefix: string | null;
  partnerId: string | null;
  active: boolean;
}

export interface KeyRotation {
  storeId: string;
  /** The new key: shown this once, stored only hashed. */
  key: string;
  keyHint: string;
  /** Until when the store's earlier keys still work (null: they stopped now). */
  previousValidUntil: Date | null;
}

/** A rotation may keep the old key working at most a week, while tills are switched over. */
export const MAX_KEY_GRACE_MINUTES = 7 * 24 * 60;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

const newKey = (): string => `sk_${randomBytes(24).toString('base64url')}`;
/** Store ids are ObjectIds: anything else names no store (and is never cast). */
const STORE_ID = /^[0-9a-f]{24}$/;

export function createStoreRepository(conn: Connection, opts: { clock?: Clock } = {}) {
  const Stores: StoreModel = storeModel(conn);
  const Keys = storeKeyModel(conn);
  const clock = opts.clock ?? systemClock;
  const toStore = (d: { _id: unknown; name: string; keyHint: string; cardPrefix?: string | null; partnerId?: string | null; active: boolean }): Store => ({
    id: String(d._id),
    name: d.name,
    keyHint: d.keyHint,
    cardPrefix: d.cardPrefix ?? null,
    partnerId: d.partnerId ?? null,
    active: d.active,
  });

  async function addKey(storeId: string, key: string): Promise<void> {
    const doc: StoreKeyDoc = { _id: hashKey(key), storeId, hint: key.slice(0, 7), createdAt: clock.now(), expiresAt: null, revokedAt: null };
    await insertRaw(Keys, doc);
  }

  return {
    async init(): Promise<void> {
      await Promise.all([Stores.createIndexes(), Keys.createIndexes()]);
      // Stores made before keys had their own collection: their key becomes a key document.
      for (const s of await Stores.find({}, { keyHash: 1, keyHint: 1 }).lean()) {
        await insertRaw(Keys, { _id: s.keyHash, storeId: String(s._id), hint: s.keyHint, createdAt: clock.now(), expiresAt: null, revokedAt: null }).catch((err: unknown) => {
          if (!isDuplicateKey(err)) throw err;
        });
      }
    },
    /** Inserts a store with a given key hash; a repeated hash becomes DuplicateKeyError. */
    async insert(input: { _id?: string; name: string; keyHash: string; keyHint: string; cardPrefix?: string | null; partnerId?: string | null }): Promise<Store> {
      const doc = { ...input, cardPrefix: input.cardPrefix ?? null, partnerId: input.partnerId ?? null };
      try {
        return toStore(await Stores.create(doc));
      } catch (err) {
        return mapDuplicateKey(err, Stores, doc);
      }
    },
    /** Creates a store with a fresh random key; the key is returned once and never stored. */
    async create(name: string, cardPrefix: string | null = null, id?: string, partnerId: string | null = null): Promise<{ store: Store; key: string }> {
      const key = newKey();
      const store = await this.insert({ ...(id ? { _id: id } : {}), name, keyHash: hashKey(key), keyHint: key.slice(0, 7), cardPrefix, partnerId });
      await addKey(store.id, key);
      return { store, key };
    },
    /** Every store, oldest first (keys are never listed, only their hints). */
    async list(): Promise<Store[]> {
      const docs = await Stores.find({}, { name: 1, keyHint: 1, cardPrefix: 1, partnerId: 1, active: 1 }).sort({ createdAt: 1 }).lean();
      return docs.map(toStore);
    },
    /** How many stores belong to a partner (a small collection: stores of one programme). */
    async countByPartner(partnerId: string): Promise<number> {
      return Stores.countDocuments({ partnerId });
    },
    /** The active store whose live key this is (two look-ups by `_id`), or null. */
    async findByKey(key: string): Promise<Store | null> {
      const k = await Keys.findById(hashKey(key)).lean<StoreKeyDoc>();
      const now = clock.now();
      if (!k || k.revokedAt || (k.expiresAt && k.expiresAt <= now)) return null;
      const d = await Stores.findById(k.storeId).lean();
      return d?.active ? toStore(d) : null;
    },
    async findById(id: string): Promise<Store | null> {
      const d = await Stores.findById(id).lean();
      return d ? toStore(d) : null;
    },
    /**
     * A new key for the store; its earlier keys stop working now, or after `graceMinutes`
     * (so a till can be switched over without a gap). The new key is returned this once.
     */
    async rotateKey(storeId: string, graceMinutes = 0): Promise<KeyRotation> {
      if (!Number.isSafeInteger(graceMinutes) || graceMinutes < 0 || graceMinutes > MAX_KEY_GRACE_MINUTES) {
        throw new DomainError('validation_failed', `graceMinutes must be 0–${MAX_KEY_GRACE_MINUTES}`, { field: 'graceMinutes' });
      }
      const store = STORE_ID.test(storeId) ? await Stores.findById(storeId).lean() : null;
      if (!store) throw new DomainError('store_not_found', 'no such store');
      const now = clock.now();
      const until = graceMinutes > 0 ? new Date(now.getTime() + graceMinutes * 60_000) : null;
      const key = newKey();
      // The new key works before the old ones stop, so the store is never without one.
      await addKey(storeId, key);
      await Keys.updateMany(
        { storeId, _id: { $ne: hashKey(key) }, revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: until ?? now } }] },
        until ? { $set: { expiresAt: until } } : { $set: { revokedAt: now } },
      );
      await Stores.updateOne({ _id: storeId }, { $set: { keyHash: hashKey(key), keyHint: key.slice(0, 7) } });
      return { storeId, key, keyHint: key.slice(0, 7), previousValidUntil: until };
    },
    /** Revokes every key of the store at once (a key leaked): its tills are refused until a new key is made. */
    async revokeKeys(storeId: string): Promise<number> {
      if (!STORE_ID.test(storeId) || !(await Stores.exists({ _id: storeId }))) throw new DomainError('store_not_found', 'no such store');
      return (await Keys.updateMany({ storeId, revokedAt: null }, { $set: { revokedAt: clock.now() } })).modifiedCount;
    },
  };
}
export type StoreRepository = ReturnType<typeof createStoreRepository>;
