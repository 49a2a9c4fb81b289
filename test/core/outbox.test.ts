import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { DOMAIN_EVENTS_QUEUE, jobIdFor, type DomainEvent } from '../../core/events/event.types.js';
import { createLogger } from '../../infra/logger.js';
import { startOutboxRelay } from '../../workers/outbox/outbox-relay.worker.js';
import { testQueues } from '../helpers/env.js';
import { newMember, testCore, type TestCore } from '../helpers/core.js';

describe('outbox → BullMQ', () => {
  let t: TestCore;
  const queues = testQueues();
  beforeAll(async () => {
    t = await testCore();
  });
  afterAll(async () => {
    await queues.close();
    await t.close();
  });

  it('every applied movement and level change yields exactly one job, with the entry id as job id', async () => {
    const { card } = await newMember(t.core);
    await t.core.purchases.purchase({ storeId: 's1', receiptId: 'ob-1', cardNumber: card._id, totalKopecks: 600000, redeemPoints: 100 });
    const queue = queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE);
    const seen: Job<DomainEvent>[] = [];
    const done = new Promise<void>((resolve) => {
      queues.worker<DomainEvent>(DOMAIN_EVENTS_QUEUE, async (job) => {
        seen.push(job);
        if (seen.length === 4) resolve();
      });
    });
    // Publishing twice (a relay that crashed before marking) must not make a second job.
    const events: DomainEvent[] = [];
    await t.core.outbox.relayOnce(async (evs) => {
      events.push(...evs);
      await queue.addBulk(evs.map((e) => ({ name: e.type, data: e, opts: { jobId: jobIdFor(e.id) } })));
      await queue.addBulk(evs.map((e) => ({ name: e.type, data: e, opts: { jobId: jobIdFor(e.id) } })));
    });
    expect(events.map((e) => e.type).sort()).toEqual(['level.changed', 'points.changed', 'points.changed', 'points.changed']);
    const relay = startOutboxRelay({ outbox: t.core.outbox, queue, logger: createLogger('silent'), busyMs: 20, idleMs: 50 });
    await done;
    await relay.close();
    // The relay has stopped; once the queue holds nothing to run, no fifth job can come.
    await expect.poll(async () => Object.values(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).reduce((a, b) => a + b, 0), { timeout: 5000 }).toBe(0);
    expect(seen).toHaveLength(4);
    const accrual = seen.find((j) => j.data.type === 'points.changed' && j.data.data.entryType === 'accrual')!;
    const accrualEvent = accrual.data as Extract<DomainEvent, { type: 'points.changed' }>;
    expect(accrual.id).toBe(jobIdFor(`entry:${accrualEvent.data.entryId}`));
    expect(accrual.data).toMatchObject({ card: card._id, data: { amount: 177, balance: 1000 - 100 + 177 } });
    expect(seen.find((j) => j.data.type === 'level.changed')!.data.data).toMatchObject({ from: 'base', to: 'silver' });
    expect(await t.conn.collection('ledger_entries').countDocuments({ published: false })).toBe(0);
  });
});
