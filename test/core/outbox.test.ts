import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { DOMAIN_EVENTS_QUEUE, jobIdFor, type DomainEvent } from '../../core/events/event.types.js';
import { createQueueEventSink } from '../../infra/event-sink.js';
import { createLogger } from '../../infra/logger.js';
import { startOutboxRelay } from '../../workers/outbox/outbox-relay.worker.js';
import { testQueues } from '../helpers/env.js';
import { newMember, testCore, type TestCore } from '../helpers/core.js';

describe('events → BullMQ', () => {
  let t: TestCore;
  const queues = testQueues();
  beforeAll(async () => {
    t = await testCore();
  });
  afterAll(async () => {
    await queues.close();
    await t.close();
  });

  it('a purchase yields one points.changed and one level.changed job, with the entry id as job id, however often handed over', async () => {
    const queue = queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE);
    const sink = createQueueEventSink([queue]);
    const detach = t.events.attach(sink);
    const seen: Job<DomainEvent>[] = [];
    const worker = queues.worker<DomainEvent>(DOMAIN_EVENTS_QUEUE, async (job) => {
      seen.push(job);
    });
    try {
      const { card } = await newMember(t.core);
      const { result } = await t.core.purchases.purchase({ storeId: 's1', receiptId: 'ob-1', cardNumber: card._id, totalKopecks: 600000, redeemPoints: 100 });
      expect(result).toMatchObject({ accrued: 177, redeemed: 100, level: 'silver' });
      const handed = t.events.published.filter((e) => e.card === card._id && e.id.startsWith('entry:purchase:') || e.type === 'level.changed');
      // Handing the same events over again (a fold repeated after a crash) adds no job.
      await sink.publish(handed);
      await expect.poll(() => seen.filter((j) => j.data.card === card._id).length, { timeout: 5000 }).toBe(3); // welcome, purchase, level
      const counts = await queue.getJobCounts('completed', 'waiting', 'active', 'delayed');
      await sink.publish(handed);
      expect(await queue.getJobCounts('completed', 'waiting', 'active', 'delayed')).toEqual(counts);
      const purchase = seen.find((j) => j.data.type === 'points.changed' && j.data.data.operation === 'purchase')!;
      const data = (purchase.data as Extract<DomainEvent, { type: 'points.changed' }>).data;
      expect(purchase.id).toBe(jobIdFor(`entry:${data.entryId}`));
      expect(data).toMatchObject({
        seq: 2,
        amount: 77,
        balance: 1000 - 100 + 177,
        lines: [
          { kind: 'redemption', points: 100, amount: -100 },
          { kind: 'accrual', points: 177, amount: 177 },
        ],
        spendDeltaKopecks: 600000,
        counters: { purchases: 1, spentKopecks: 600000, earned: 1177, redeemed: 100, expired: 0 },
        ref: { storeId: 's1', receiptId: 'ob-1', totalKopecks: 600000 },
      });
      expect(seen.find((j) => j.data.type === 'level.changed')!.data.data).toMatchObject({ from: 'base', to: 'silver', manual: false });
    } finally {
      detach();
      await worker.close();
    }
  });

  it('events that are not movements go through the outbox collection, which the relay drains', async () => {
    const queue = queues.queue<DomainEvent>('other-events');
    const seen: DomainEvent[] = [];
    const worker = queues.worker<DomainEvent>('other-events', async (job) => {
      seen.push(job.data);
    });
    const event: DomainEvent = { id: 'contest-won:c1:1', type: 'contest.won', at: new Date().toISOString(), card: '7000', memberId: null, data: { contestId: 'c1', title: 'T', place: 1, channel: 'telegram', account: 'telegram:1' } };
    await t.core.outbox.add(event);
    await t.core.outbox.add(event); // idempotent by id
    const relay = startOutboxRelay({ outbox: t.core.outbox, sink: createQueueEventSink([queue]), logger: createLogger('silent'), busyMs: 20, idleMs: 50 });
    try {
      await expect.poll(() => seen.length, { timeout: 5000 }).toBe(1);
      await expect.poll(() => t.conn.collection('outbox_events').countDocuments({}), { timeout: 5000 }).toBe(0);
      expect(seen[0]).toEqual(event);
    } finally {
      await relay.close();
      await worker.close();
    }
  });
});
