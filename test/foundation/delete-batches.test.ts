import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Schema } from 'mongoose';
import { deleteInBatches } from '../../core/shared/mongo.js';
import type { Connection } from '../../infra/mongo.js';
import { testMongo } from '../helpers/env.js';

// FerretDB v1 refuses a deleteMany that matches more than SQLite's 32,766 variables; an
// import's working rows of a 100,000-row file are cleaned up with deleteInBatches instead
// (bench/insight.bench.ts runs that size; here the paging itself, at a size a test affords).
describe('deleteInBatches', () => {
  let conn: Connection;
  beforeAll(async () => {
    conn = await testMongo();
  });
  afterAll(async () => {
    await conn.dropDatabase();
    await conn.close();
  });

  it('deletes every matching document piece by piece, and only those', async () => {
    const Rows = conn.model('rows', new Schema({ _id: String, importId: String }, { versionKey: false }));
    await Rows.collection.insertMany(Array.from({ length: 2_503 }, (_, j) => ({ _id: `a:${j}`, importId: 'a' })) as never[]);
    await Rows.collection.insertMany(Array.from({ length: 10 }, (_, j) => ({ _id: `b:${j}`, importId: 'b' })) as never[]);
    await deleteInBatches(Rows, { importId: 'a' }, 500);
    expect(await Rows.countDocuments({ importId: 'a' })).toBe(0);
    expect(await Rows.countDocuments({ importId: 'b' })).toBe(10);
    // Pieces smaller than the set, and a set that ends exactly on a piece.
    await deleteInBatches(Rows, { importId: 'b' }, 5);
    expect(await Rows.countDocuments({})).toBe(0);
  }, 60_000);
});
