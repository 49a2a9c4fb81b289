import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED } from '../../core/broadcasts/broadcast.types.js';
import type { DeliveryDoc } from '../../core/broadcasts/delivery.model.js';
import { createDeliveryRepository, type DeliveryRepository } from '../../core/broadcasts/delivery.repository.js';
import type { Connection } from '../../infra/mongo.js';
import { testMongo } from '../helpers/env.js';

/**
 * The state changes of deliveries, raced and cut between two writes, on the run's real server:
 * the gates FerretDB uses (core/broadcasts/delivery-gate.repository.ts) and the conditional
 * updates MongoDB uses (which work on FerretDB too, reading the collection), held to the same
 * rules: one sender a round, one outcome a round, a release reopens a delivery exactly once.
 */
let conn: Connection;
const t0 = new Date('2026-03-02T09:00:00Z');
const later = (ms: number): Date => new Date(t0.getTime() + ms);

beforeAll(async () => {
  conn = await testMongo();
}, 60_000);
afterAll(async () => {
  await conn.dropDatabase();
  await conn.close();
});

let seq = 0;
/** `n` queued Telegram deliveries of a new broadcast. */
async function queued(repo: DeliveryRepository, n: number, channel: 'telegram' | 'vk' = 'telegram'): Promise<{ b: string; ids: string[] }> {
  const b = randomBytes(12).toString('hex');
  const docs: DeliveryDoc[] = Array.from({ length: n }, () => {
    const memberId = randomBytes(12).toString('hex');
    return { _id: `${b}:${channel}:${memberId}`, b, channel, memberId, to: String(700_000 + ++seq), lang: 'ru', state: 'queued', claim: null, reason: null, at: t0 };
  });
  await repo.insertMany(docs);
  return { b, ids: docs.map((d) => d._id) };
}

const stateOf = async (repo: DeliveryRepository, id: string): Promise<Pick<DeliveryDoc, 'state' | 'claim' | 'reason' | 'round'> | undefined> => {
  const d = await repo.get(id);
  return d ? { state: d.state, claim: d.claim, reason: d.reason, round: d.round ?? 0 } : undefined;
};

describe.each([
  ['gates (FerretDB)', false],
  ['conditional updates (MongoDB)', true],
])('deliveries by %s', (_, guarded) => {
  let repo: DeliveryRepository;
  beforeAll(async () => {
    repo = createDeliveryRepository(conn, { guarded });
    await repo.init();
  });

  it('twenty runs of one job at once: one sends, the others find their own claim', async () => {
    const { ids } = await queued(repo, 1);
    const id = ids[0] ?? '';
    const got = await Promise.all(Array.from({ length: 20 }, () => repo.claim(id, 'job-a', t0)));
    expect(got.filter((g) => g?.kind === 'held')).toHaveLength(1);
    expect(got.filter((g) => g?.kind === 'own')).toHaveLength(19);
    expect(await stateOf(repo, id)).toMatchObject({ state: 'sending', claim: 'job-a' });
  });

  it('ten jobs at once: one holds it, the others get nothing', async () => {
    const { ids } = await queued(repo, 1);
    const id = ids[0] ?? '';
    const got = await Promise.all(Array.from({ length: 10 }, (_, i) => repo.claim(id, `job-${i}`, t0)));
    expect(got.filter((g) => g?.kind === 'held')).toHaveLength(1);
    expect(got.filter((g) => g === null)).toHaveLength(9);
  });

  it('the holder and an interrupted run end it at once: one outcome is recorded', async () => {
    const { ids } = await queued(repo, 1);
    const id = ids[0] ?? '';
    const held = await repo.claim(id, 'job-a', t0);
    if (held?.kind !== 'held') throw new Error('not held');
    const [sent, interrupted] = await Promise.all([repo.finish(held.d, 'job-a', 'sent', null, later(1)), repo.finish(held.d, 'job-a', 'failed', INTERRUPTED, later(1), true)]);
    expect([sent, interrupted].filter(Boolean)).toHaveLength(1);
    expect(await stateOf(repo, id)).toMatchObject(sent ? { state: 'sent', claim: null } : { state: 'failed', reason: INTERRUPTED, claim: null });
    // Ending it again changes nothing.
    expect(await repo.finish(held.d, 'job-a', 'blocked', 'x', later(2))).toBe(false);
    expect((await stateOf(repo, id))?.state).toBe(sent ? 'sent' : 'failed');
  });

  it('a release makes it claimable again exactly once', async () => {
    const { ids } = await queued(repo, 1);
    const id = ids[0] ?? '';
    const held = await repo.claim(id, 'job-a', t0);
    if (held?.kind !== 'held') throw new Error('not held');
    const releases = await Promise.all([repo.release(held.d, 'job-a', later(1)), repo.release(held.d, 'job-a', later(1))]);
    expect(releases.filter(Boolean)).toHaveLength(1);
    expect((await stateOf(repo, id))?.state).toBe('queued');
    const again = await Promise.all(Array.from({ length: 10 }, (_, i) => repo.claim(id, `job-${i}`, later(2))));
    const winner = again.find((g) => g?.kind === 'held');
    expect(again.filter((g) => g?.kind === 'held')).toHaveLength(1);
    if (!winner) throw new Error('nobody holds it');
    // The old round's holder cannot end the new round.
    expect(await repo.finish(held.d, 'job-a', 'sent', null, later(3))).toBe(false);
    expect(await repo.finish(winner.d, winner.d.claim ?? '', 'sent', null, later(3))).toBe(true);
    expect(await stateOf(repo, id)).toMatchObject({ state: 'sent', claim: null });
  });

  it('cancel racing the senders: each delivery is either skipped or sent, never both', async () => {
    const { b, ids } = await queued(repo, 40);
    const [settled, claims] = await Promise.all([
      repo.settleQueued(b, 'telegram', 'skipped', 'canceled', later(1)),
      Promise.all(ids.map((id, i) => repo.claim(id, `job-${i}`, later(1)))),
    ]);
    const held = claims.flatMap((c) => (c?.kind === 'held' ? [c.d] : []));
    expect(settled + held.length).toBe(40);
    for (const d of held) expect(await repo.finish(d, d.claim ?? '', 'sent', null, later(2))).toBe(true);
    const states = await Promise.all(ids.map(async (id) => (await stateOf(repo, id))?.state));
    expect(states.filter((s) => s === 'skipped')).toHaveLength(settled);
    expect(states.filter((s) => s === 'sent')).toHaveLength(held.length);
  });

  it('a batch: its job takes it again after a run that died, another job gets nothing', async () => {
    const { ids } = await queued(repo, 10, 'vk');
    expect(await repo.claimMany(ids, 'vk.a', t0, 60_000)).toHaveLength(10);
    expect(await repo.claimMany(ids, 'vk.b', later(1), 60_000)).toHaveLength(0);
    const again = await repo.claimMany(ids, 'vk.a', later(1), 60_000);
    expect(again).toHaveLength(10);
    expect(await repo.finishMany(again, 'vk.a', 'sent', null, later(2))).toBe(10);
    expect(await repo.finishMany(again, 'vk.a', 'sent', null, later(2))).toBe(0);
  });
});

describe('gates: a worker killed between two writes', () => {
  let repo: DeliveryRepository;
  const gates = () => conn.collection<{ _id: string; job: string; at: Date; state?: string; reason?: string | null }>('broadcast_claims');
  beforeAll(async () => {
    repo = createDeliveryRepository(conn, { guarded: false });
    await repo.init();
  });

  it('claim gate taken, delivery still queued: the job counts it interrupted, never sends; another job gets nothing', async () => {
    const { ids } = await queued(repo, 1);
    const id = ids[0] ?? '';
    await gates().insertOne({ _id: `${id}#0`, job: 'job-a', at: t0 });
    expect(await repo.claim(id, 'job-b', later(1))).toBeNull();
    const own = await repo.claim(id, 'job-a', later(1));
    expect(own?.kind).toBe('own');
    expect((await repo.own(id, 'job-a'))?._id).toBe(id);
    if (!own) throw new Error('no claim');
    expect(await repo.finish(own.d, 'job-a', 'failed', INTERRUPTED, later(2), true)).toBe(true);
    expect(await stateOf(repo, id)).toMatchObject({ state: 'failed', reason: INTERRUPTED });
  });

  it('claim gate of a batch job that never came back: taken over once it is stale', async () => {
    const { ids } = await queued(repo, 2, 'vk');
    await gates().insertOne({ _id: `${ids[0] ?? ''}#0`, job: 'vk.dead', at: t0 });
    expect((await repo.claimMany(ids, 'vk.new', later(1000), 60_000)).map((d) => d._id)).toEqual([ids[1]]);
    const taken = await repo.claimMany(ids, 'vk.new', later(120_000), 60_000);
    expect(taken.map((d) => d._id).sort()).toEqual([...ids].sort());
    expect(await stateOf(repo, ids[0] ?? '')).toMatchObject({ state: 'sending', claim: 'vk.new', round: 1 });
  });

  it('release recorded, delivery still sending: the next run writes it back to queued and sends it in the next round', async () => {
    const { ids } = await queued(repo, 1);
    const id = ids[0] ?? '';
    const held = await repo.claim(id, 'job-a', t0);
    if (held?.kind !== 'held') throw new Error('not held');
    // The release's first write only: its end gate.
    await gates().insertOne({ _id: `${id}#0.end`, job: 'job-a', at: later(1), state: 'queued', reason: null });
    expect(await stateOf(repo, id)).toMatchObject({ state: 'sending', round: 0 });
    const next = await repo.claim(id, 'job-a', later(2));
    expect(next?.kind).toBe('own');
    if (!next) throw new Error('no claim');
    // The interrupted path loses the end gate to the recorded release and writes it.
    expect(await repo.finish(next.d, 'job-a', 'failed', INTERRUPTED, later(3), true)).toBe(false);
    expect(await stateOf(repo, id)).toMatchObject({ state: 'queued', round: 1 });
    const runs = await Promise.all([repo.claim(id, 'job-a', later(4)), repo.claim(id, 'job-a', later(4))]);
    expect(runs.filter((r) => r?.kind === 'held')).toHaveLength(1);
  });

  it('outcome recorded, delivery still sending: whoever ends the round next writes the recorded outcome', async () => {
    const { ids } = await queued(repo, 1);
    const id = ids[0] ?? '';
    const held = await repo.claim(id, 'job-a', t0);
    if (held?.kind !== 'held') throw new Error('not held');
    await gates().insertOne({ _id: `${id}#0.end`, job: 'job-a', at: later(1), state: 'sent', reason: null });
    expect(await repo.finish(held.d, 'job-a', 'failed', INTERRUPTED, later(2), true)).toBe(false);
    expect(await stateOf(repo, id)).toMatchObject({ state: 'sent', claim: null, round: 0 });
  });
});
