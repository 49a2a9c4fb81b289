import { afterAll, describe, expect, it } from 'vitest';
import { testQueues, testRedis } from '../helpers/env.js';

describe('BullMQ on the test Redis', () => {
  const queues = testQueues();
  afterAll(() => queues.close());

  it('round-trips a job through a queue and a worker under our prefix', async () => {
    const q = queues.queue<{ n: number }>('echo');
    const done = new Promise<number>((resolve) => {
      const w = queues.worker<{ n: number }, number>('echo', async (job) => job.data.n * 2);
      w.on('completed', (_job, result) => resolve(result));
    });
    const job = await q.add('double', { n: 21 }, { jobId: 'double-21' });
    expect(await done).toBe(42);
    // Same jobId → same job: the idempotency BullMQ gives us for outbox relays.
    const again = await q.add('double', { n: 21 }, { jobId: 'double-21' });
    expect(again.id).toBe(job.id);
    const redis = await testRedis();
    const keys = await redis.keys(`${queues.prefix}:echo:*`);
    redis.disconnect();
    expect(keys.length).toBeGreaterThan(0);
  });
});
