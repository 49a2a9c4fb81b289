import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuplicateKeyError } from '../../core/shared/errors.js';
import { createStoreRepository } from '../../core/stores/store.repository.js';
import type { Connection } from '../../infra/mongo.js';
import { testMongo } from '../helpers/env.js';

describe('mongoose on the MongoDB-wire server', () => {
  let conn: Connection;
  beforeAll(async () => {
    conn = await testMongo();
  });
  afterAll(async () => {
    await conn.dropDatabase();
    await conn.close();
  });

  it('round-trips a document and maps a unique-index violation to a typed error', async () => {
    const stores = createStoreRepository(conn);
    await stores.init();
    const { store, key } = await stores.create('Кофейня на Тверской');
    expect(key).toMatch(/^sk_/);
    const found = await stores.findByKey(key);
    expect(found).toEqual(store);
    expect(found?.name).toBe('Кофейня на Тверской');
    // The key itself is never stored, only its hash.
    const raw = await conn.collection('stores').findOne({});
    expect(JSON.stringify(raw)).not.toContain(key);

    const err = await stores.insert({ name: 'copy', keyHash: (raw as { keyHash: string } | null)!.keyHash, keyHint: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect((err as DuplicateKeyError).code).toBe('already_exists');
    expect((err as DuplicateKeyError).index).toMatch(/keyHash/);
    expect(await conn.collection('stores').countDocuments()).toBe(1);
  });
});
