import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broadcastEnv, type BroadcastEnv } from './broadcast.fixture.js';

/**
 * Frequency-cap records no cap window reads any more are deleted by the worker's tick
 * (broadcasts.pruneCaps). Real FerretDB, Redis and BullMQ; the clock is the core's fake one.
 */
const MIN = 60_000;
const DAY = 86_400_000;
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('frequency-cap records', () => {
  let env: BroadcastEnv;
  beforeAll(async () => {
    env = await broadcastEnv();
  }, 60_000);
  afterAll(async () => {
    await env.close();
  });

  it('past the cap window and its margin are deleted from the tick, in batches, at most hourly', async () => {
    const caps = env.t.conn.collection<{ _id: string; memberId: string; b: string; at: Date }>('marketing_sends');
    const now = env.t.clock.now().getTime();
    const record = (tag: string, i: number, daysAgo: number) => ({ _id: `m${i}:${tag}`, memberId: `m${i}`, b: tag, at: new Date(now - daysAgo * DAY) });
    // The default cap counts 7 days; records are kept a week longer. More old ones than one delete batch (5,000).
    await caps.insertMany(Array.from({ length: 5200 }, (_, i) => record('old', i, 15)));
    await caps.insertMany([...Array.from({ length: 3 }, (_, i) => record('margin', i, 13)), ...Array.from({ length: 3 }, (_, i) => record('recent', i, 1))]);

    await env.startWorkers();
    await expect.poll(() => caps.countDocuments({ b: 'old' }), { timeout: 30_000 }).toBe(0);
    expect(await caps.countDocuments({ b: { $in: ['margin', 'recent'] } })).toBe(6);

    // Within the hour nothing is pruned again (a few ticks pass here) ...
    await caps.insertOne(record('later', 0, 30));
    env.t.clock.advance(30 * MIN);
    await pause(1000);
    expect(await caps.countDocuments({ b: 'later' })).toBe(1);
    // ... and once it has passed, the next tick does.
    env.t.clock.advance(31 * MIN);
    await expect.poll(() => caps.countDocuments({ b: 'later' }), { timeout: 15_000 }).toBe(0);
    expect(await caps.countDocuments({ b: { $in: ['margin', 'recent'] } })).toBe(6);
  }, 90_000);
});
