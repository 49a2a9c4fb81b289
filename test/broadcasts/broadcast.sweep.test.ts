import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED } from '../../core/broadcasts/broadcast.types.js';
import { deliveryId } from '../../core/broadcasts/delivery.model.js';
import { BROADCAST_QUEUES, batchJobId, jobIdOf } from '../../workers/broadcasts/broadcast.queues.js';
import { broadcastEnv, member, waitForStatus, type BroadcastEnv } from './broadcast.fixture.js';

/**
 * The worker's tick settles deliveries left `sending` under a job BullMQ gave up on
 * (broadcasts.sweep). Real FerretDB, Redis, BullMQ and the wire-level fakes; the clock is the
 * core's fake one (the workers' default stuckMs of 5 minutes applies).
 */
const MIN = 60_000;
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('deliveries a dead worker left sending', () => {
  let env: BroadcastEnv;
  beforeAll(async () => {
    env = await broadcastEnv();
  }, 60_000);
  afterAll(async () => {
    await env.close();
  });

  it('are settled once their job is gone: Telegram counted failed and never sent, VK sent exactly once, the broadcast done', async () => {
    const ann = await member(env, { telegram: true, vk: true });
    const bob = await member(env, { telegram: true });
    const cards = await Promise.all([ann, bob].map(async (m) => (await env.t.core.members.byId(m.id))?.cardNumber ?? ''));
    // No workers yet: the broadcast is planned here and its work never handed to a sender.
    const res = await env.t.core.broadcasts.create({ text: 'Распродажа', audience: { kind: 'cards', numbers: cards }, channels: ['telegram', 'vk'] });
    expect(res).toMatchObject({ status: 'sending', recipients: { telegram: 2, vk: 1, wallet: 0, total: 2 } });
    const step = await env.t.core.broadcasts.planStep(res.id, 1000);
    if (step.kind !== 'page') throw new Error(`expected a page to plan, got ${step.kind}`);
    await step.commit();

    // What dead workers leave: each delivery `sending` under its job's id, claimed 10 minutes ago.
    const tgLost = deliveryId(res.id, 'telegram', ann.id); // its job is gone (stalled out and removed)
    const vkLost = deliveryId(res.id, 'vk', ann.id); // its job failed for good
    const tgHeld = deliveryId(res.id, 'telegram', bob.id); // its job will run again
    // The VK job has the id the planner gives this batch: handing it over again must not find the dead one.
    const vkClaim = batchJobId('vk', [vkLost]);
    const claims: [string, string][] = [
      [tgLost, jobIdOf(tgLost)],
      [vkLost, vkClaim],
      [tgHeld, jobIdOf(tgHeld)],
    ];
    const deliveries = env.t.conn.collection<{ _id: string; state: string; reason: string | null }>('broadcast_deliveries');
    const at = new Date(env.t.clock.now().getTime() - 10 * MIN);
    for (const [id, claim] of claims) {
      const r = await deliveries.updateOne({ _id: id, state: 'queued' }, { $set: { state: 'sending', claim, at } });
      expect(r.modifiedCount, id).toBe(1);
    }
    const vkQueue = env.queues.queue(BROADCAST_QUEUES.vk);
    const tgQueue = env.queues.queue(BROADCAST_QUEUES.telegram);
    // A payload the worker refuses (UnrecoverableError): BullMQ fails the job and never runs it again.
    await vkQueue.add('send', { ids: [] }, { jobId: vkClaim });
    await tgQueue.add('send', { id: tgHeld }, { jobId: jobIdOf(tgHeld), delay: 3_600_000 });
    const stateOf = async (id: string): Promise<string | undefined> => (await deliveries.findOne({ _id: id }))?.state;

    await env.startWorkers();
    await expect.poll(() => vkQueue.getJobState(vkClaim), { timeout: 15_000 }).toBe('failed');
    // Until nothing has moved for stuckMs the sweep does not read the deliveries (a few ticks pass here).
    await pause(1000);
    for (const [id] of claims) expect(await stateOf(id), id).toBe('sending');

    env.t.clock.advance(6 * MIN);
    await expect.poll(async () => (await env.t.core.broadcasts.get(res.id)).counts, { timeout: 30_000 }).toMatchObject({ telegram: { queued: 1, failed: 1 }, vk: { queued: 0, sent: 1 } });
    // The delayed job still holds its claim: that delivery waits for it, and so does the broadcast.
    expect(await stateOf(tgHeld)).toBe('sending');
    expect((await env.t.core.broadcasts.get(res.id)).status).toBe('sending');

    // Then that job is removed too: the next sweep (stuckMs after the last one) settles its delivery.
    await tgQueue.remove(jobIdOf(tgHeld));
    env.t.clock.advance(6 * MIN);
    await waitForStatus(env, res.id, 'done', 30_000);

    const b = await env.t.core.broadcasts.get(res.id);
    expect(b.counts.telegram).toEqual({ queued: 0, sent: 0, failed: 2, blocked: 0, skipped: 0 });
    expect(b.counts.vk).toEqual({ queued: 0, sent: 1, failed: 0, blocked: 0, skipped: 0 });
    expect(b.finishedAt).not.toBeNull();
    for (const id of [tgLost, tgHeld]) expect(await deliveries.findOne({ _id: id }), id).toMatchObject({ state: 'failed', reason: INTERRUPTED, claim: null });
    expect(await deliveries.findOne({ _id: vkLost })).toMatchObject({ state: 'sent', claim: null });
    // Telegram has no idempotency key: an interrupted message is never sent again.
    expect(env.tg.sent(ann.tg ?? 0)).toHaveLength(0);
    expect(env.tg.sent(bob.tg ?? 0)).toHaveLength(0);
    expect(env.vk.sent(ann.vk ?? 0)).toHaveLength(1);
  }, 90_000);
});
