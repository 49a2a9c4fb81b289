import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryId } from '../../core/broadcasts/delivery.model.js';
import { BROADCAST_QUEUES, SEND_ATTEMPTS, enqueueWork, jobIdOf } from '../../workers/broadcasts/broadcast.queues.js';
import { broadcastEnv, member, waitForStatus, type BroadcastEnv } from './broadcast.fixture.js';

/**
 * Telegram server errors: a send job is run again by BullMQ (SEND_ATTEMPTS, with a backoff) and
 * its delivery waits queued meanwhile; on the last attempt the delivery is counted failed. A job
 * that failed for good does not stop its delivery being handed over again. Real FerretDB, Redis,
 * BullMQ and the real sender against the wire-level fake.
 */
const serverError = { error_code: 500, description: 'Internal Server Error' };

async function cardsOf(env: BroadcastEnv, ms: { id: string }[]): Promise<string[]> {
  return Promise.all(ms.map(async (m) => (await env.t.core.members.byId(m.id))?.cardNumber ?? ''));
}

describe('a Telegram server error', () => {
  let env: BroadcastEnv;
  beforeAll(async () => {
    env = await broadcastEnv();
    await env.startWorkers({ retryMs: 50 });
  }, 60_000);
  afterAll(async () => {
    await env.close();
  });

  const sendsTo = (chat: number) => env.tg.calls.filter((c) => c.method === 'sendMessage' && c.params.chat_id === chat);

  it('twice, then the message goes: delivered exactly once and the broadcast done', async () => {
    const flaky = await member(env, { telegram: true });
    const fine = await member(env, { telegram: true });
    env.tg.failNextWith('sendMessage', 2, serverError, { chatId: flaky.tg ?? 0 });
    const b = await env.t.core.broadcasts.create({ text: 'Со второй попытки', audience: { kind: 'cards', numbers: await cardsOf(env, [flaky, fine]) }, channels: ['telegram'] });
    await waitForStatus(env, b.id, 'done');
    expect(sendsTo(flaky.tg ?? 0).map((c) => c.status)).toEqual([500, 500, 200]);
    expect(env.tg.sent(flaky.tg ?? 0).map((m) => m.text)).toEqual(['Со второй попытки']);
    expect(env.tg.sent(fine.tg ?? 0)).toHaveLength(1);
    expect((await env.t.core.broadcasts.get(b.id)).counts.telegram).toEqual({ queued: 0, sent: 2, failed: 0, blocked: 0, skipped: 0 });
  });

  it('every time: counted failed after the last attempt, the broadcast done', async () => {
    const down = await member(env, { telegram: true });
    const fine = await member(env, { telegram: true });
    env.tg.failNextWith('sendMessage', Infinity, serverError, { chatId: down.tg ?? 0 });
    const b = await env.t.core.broadcasts.create({ text: 'Не дойдёт', audience: { kind: 'cards', numbers: await cardsOf(env, [down, fine]) }, channels: ['telegram'] });
    await waitForStatus(env, b.id, 'done');
    expect(sendsTo(down.tg ?? 0).map((c) => c.status)).toEqual(Array.from({ length: SEND_ATTEMPTS }, () => 500));
    expect(env.tg.sent(down.tg ?? 0)).toHaveLength(0);
    expect(env.tg.sent(fine.tg ?? 0)).toHaveLength(1);
    expect((await env.t.core.broadcasts.get(b.id)).counts.telegram).toEqual({ queued: 0, sent: 1, failed: 1, blocked: 0, skipped: 0 });
    const d = await env.t.conn.collection<{ _id: string }>('broadcast_deliveries').findOne({ _id: deliveryId(b.id, 'telegram', down.id) });
    expect(d).toMatchObject({ state: 'failed', reason: '500 Internal Server Error', claim: null });
  });
});

describe('a send job that failed for good', () => {
  let env: BroadcastEnv;
  beforeAll(async () => {
    env = await broadcastEnv();
  }, 60_000);
  afterAll(async () => {
    await env.close();
  });

  it('leaves nothing that stops its delivery being handed over again', async () => {
    const m = await member(env, { telegram: true });
    // No workers yet: planned here, its work handed to the queue by hand below.
    const b = await env.t.core.broadcasts.create({ text: 'Ещё раз', audience: { kind: 'cards', numbers: await cardsOf(env, [m]) }, channels: ['telegram'] });
    const step = await env.t.core.broadcasts.planStep(b.id, 1000);
    if (step.kind !== 'page') throw new Error(`expected a page to plan, got ${step.kind}`);
    await enqueueWork(env.queues, step.work);
    await step.commit();
    const id = deliveryId(b.id, 'telegram', m.id);
    const queue = env.queues.queue(BROADCAST_QUEUES.telegram);
    // A run that fails beyond retrying (a worker of another version, a bad payload): BullMQ fails the job for good.
    const failing = env.queues.worker(BROADCAST_QUEUES.telegram, () => Promise.reject(new UnrecoverableError('refused')));
    await expect.poll(() => queue.getJobState(jobIdOf(id)), { timeout: 15_000 }).toBe('unknown');
    await failing.close();
    expect(env.tg.sent(m.tg ?? 0)).toHaveLength(0);

    // The tick hands the still-queued delivery over again once nothing has moved for a stall interval.
    await env.startWorkers({ retryMs: 50 });
    env.t.clock.advance(10_000);
    await waitForStatus(env, b.id, 'done');
    expect(env.tg.sent(m.tg ?? 0)).toHaveLength(1);
  });
});
