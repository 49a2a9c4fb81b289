import { isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import type { BroadcastChannel, DeliveryOutcome } from './broadcast.types.js';
import type { DeliveryModel, DeliveryDoc, GateDoc, GateModel } from './delivery.model.js';

/**
 * # Claiming deliveries on the embedded store (FerretDB v1)
 *
 * FerretDB v1's SQLite backend looks a document up by index only when the filter is exactly
 * `{_id}`; `{_id, state: 'queued'}` or `{_id: {$in}}` decodes the whole collection, and
 * `broadcast_deliveries` holds every delivery of every broadcast ever sent (a full read took
 * 5.7 s at 100,000 records, an `_id` update 1 ms). So here no per-send command filters on anything
 * but `_id`, and the one atomic test left, a unique `_id` on insert, decides who may write.
 *
 * ## Gates
 *
 * A delivery's life is cut into **rounds**: round 0 from planning; a release (a 429, a pause, a
 * server error: nothing reached the chat) ends a round and opens the next (`round` on the
 * delivery). Each round has two gates in `broadcast_claims`, records inserted once and never
 * changed:
 * - `${delivery}#${round}`, the **claim gate**: its inserter (a sender's job, or `cancel`) is
 *   the only one who sends that round, and it alone moves the delivery `queued → sending`
 *   (or `queued → skipped`, cancel);
 * - `${delivery}#${round}.end`, the **end gate**, holding the round's outcome: `sent`,
 *   `failed`, `blocked`, or `queued` for a release. Its inserter alone moves the counters,
 *   and writes the outcome to the delivery: the outcome, or `queued` with `round + 1`.
 *
 * The delivery is then written by `_id` alone, and only by a gate's winner (or by a batch job
 * that holds the claim gate from an earlier run), so an unconditional write is as safe as
 * MongoDB's conditional one: no one else may write it then. The end gate's outcome is stored,
 * so whoever loses it writes that outcome again: a write that was lost (its writer died) or
 * overwritten (a slow holder's `sending` after the round ended) is repaired by the same values.
 * A recorded release is written again only by the recovery paths (the interrupted run, the
 * sweep, a batch taking over a dead job's gate), each acting on a round it found unfinished.
 *
 * ## Never twice
 *
 * Only the claim gate's winner sends (each round at most one sender), and a round is opened
 * again only by a release, which is recorded when nothing reached the chat. Telegram's job id is
 * the delivery's, so every claimant of a Telegram delivery is a run of the same job; a run that
 * finds its own job on the claim (the delivery `sending` under its id, or the claim gate its
 * job's while the delivery is still `queued`) does as on MongoDB: counts it `failed`
 * (interrupted) through the end gate and never sends. The run that does hold the gate may still
 * be alive (BullMQ took its job for stalled); it sends once, then loses the end gate and
 * writes the recorded outcome again. VK and Wallet send again harmlessly (VK's random_id,
 * the pass's state): a job that finds its own claim takes the delivery again, and a claim gate
 * held by another job while the delivery is still `queued` longer than `staleMs` (a job that
 * died between its two writes and will not come back) is released through the end gate and
 * claimed in the next round.
 *
 * ## A crash between two writes
 *
 * - claim gate taken, delivery still `queued`: nobody else may claim that round. Telegram: the
 *   job runs again (BullMQ's stall recovery, or the planner hands the delivery over again under
 *   the same job id) and counts it interrupted. VK, Wallet: taken over after `staleMs`, above.
 * - `sending`, no end gate: as on MongoDB, the job's next run counts it interrupted (Telegram)
 *   or sends again (VK, Wallet); when no run comes, the worker's sweep does the same.
 * - end gate taken, delivery still `sending`: the outcome is decided but not written. Whoever
 *   next tries to end that round (the job's next run, the sweep) loses the end gate and writes
 *   the recorded outcome; a released round then opens the next, and the delivery is sent.
 * - delivery written, counters not moved: the worker's tick recounts them from the records, as
 *   on MongoDB.
 * - cancel took the claim gate, delivery still `queued`: that delivery stays `queued` in a
 *   canceled broadcast (its counter too); nothing is ever sent for it.
 *
 * ## Cost
 *
 * A Telegram message here: two gate inserts and two delivery updates by `_id`, the counters'
 * update, and one read of the delivery, each an index look-up (MongoDB, below in
 * delivery.repository.ts, needs three conditional updates). Gates are small and are
 * kept; they cost nothing until read, and only by `_id`.
 */
export interface DeliveryTransitions {
  /**
   * queued → sending under `claim`. `held`: send it. `own`: this same job held it before and did
   * not finish (its run died): whether it went out is unknown. null: nothing to do.
   */
  claim(id: string, claim: string, at: Date): Promise<{ kind: 'held' | 'own'; d: DeliveryDoc } | null>;
  /** A delivery this job holds from an earlier run (the `own` of claim, without taking anything). */
  own(id: string, claim: string): Promise<DeliveryDoc | null>;
  /**
   * Claims a batch (VK, Wallet), returning those this job now holds; those it held before come
   * back too (a repeat is harmless there). `staleMs`: see "A crash between two writes".
   */
  claimMany(ids: string[], claim: string, at: Date, staleMs: number): Promise<DeliveryDoc[]>;
  /**
   * sending (by `claim`) → outcome; true when this call recorded it (the caller moves the
   * counters). `recover` (the interrupted path, the sweep): a release found recorded is applied.
   */
  finish(d: Held, claim: string, outcome: DeliveryOutcome, reason: string | null, at: Date, recover?: boolean): Promise<boolean>;
  /** finish for many, one outcome; how many this call recorded. */
  finishMany(ds: Held[], claim: string, outcome: DeliveryOutcome, reason: string | null, at: Date): Promise<number>;
  /** sending (by `claim`) → queued: nothing reached the chat. */
  release(d: Held, claim: string, at: Date): Promise<boolean>;
  /** release for many; how many this call gave back (`recover`: the sweep, as for finish). */
  releaseMany(ds: Held[], claim: string, at: Date, recover?: boolean): Promise<number>;
  /** Every queued delivery of a broadcast's channel becomes `outcome` (cancel); how many. */
  settleQueued(b: string, channel: BroadcastChannel, outcome: DeliveryOutcome, reason: string, at: Date): Promise<number>;
}

/** What ending a round needs of a delivery: which it is, and its round when it was claimed. */
export type Held = Pick<DeliveryDoc, '_id'> & { round?: number | undefined };

type Decision = { state: DeliveryOutcome | 'queued'; reason: string | null };

const roundOf = (d: { round?: number | undefined }): number => d.round ?? 0;
const claimGate = (id: string, round: number): string => `${id}#${round}`;
const endGate = (id: string, round: number): string => `${id}#${round}.end`;
/** Claim and end writes of a batch in flight at once (the wire proxy queues writes anyway). */
const PARALLEL = 100;

async function inChunks<T, R>(items: T[], f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += PARALLEL) out.push(...(await Promise.all(items.slice(i, i + PARALLEL).map(f))));
  return out;
}

/**
 * The state changes of deliveries on FerretDB v1: every command reads or writes one document by
 * `_id`; who may write is decided by inserting a gate (see above).
 */
export function gatedTransitions(Deliveries: DeliveryModel, Gates: GateModel, range: (b: string, channel: string) => { $gt: string; $lt: string }): DeliveryTransitions {
  const get = (id: string): Promise<DeliveryDoc | null> => Deliveries.findById(id).lean<DeliveryDoc>();
  const gate = (id: string): Promise<GateDoc | null> => Gates.findById(id).lean<GateDoc>();

  async function insertGate(doc: GateDoc): Promise<boolean> {
    try {
      await insertRaw(Gates, doc);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** Writes a round's recorded outcome to the delivery (again, when it was written before). */
  async function apply(id: string, round: number, e: Decision, at: Date): Promise<void> {
    await Deliveries.updateOne(
      { _id: id },
      { $set: e.state === 'queued' ? { state: 'queued', claim: null, round: round + 1 } : { state: e.state, reason: e.reason, claim: null, at } },
    );
  }

  /**
   * Ends the round `d` was claimed in with `e`; true when this call decided it. When another
   * did, its outcome is written again (repairing a writer that died before writing it), except
   * a release outside recovery: the next round may have begun, and a late `queued` would hide it.
   */
  async function end(d: Held, job: string, e: Decision, at: Date, recover: boolean): Promise<boolean> {
    const round = roundOf(d);
    if (await insertGate({ _id: endGate(d._id, round), job, at, state: e.state, reason: e.reason })) {
      await apply(d._id, round, e, at);
      return true;
    }
    const found = await gate(endGate(d._id, round));
    if (found?.state && (found.state !== 'queued' || recover)) await apply(d._id, round, { state: found.state, reason: found.reason ?? null }, found.at);
    return false;
  }

  /** Takes round `d.round` for `job` and marks the delivery sending; the delivery as it now is, or null (taken by another). */
  async function take(d: DeliveryDoc, job: string, at: Date): Promise<DeliveryDoc | null> {
    if (!(await insertGate({ _id: claimGate(d._id, roundOf(d)), job, at }))) return null;
    await Deliveries.updateOne({ _id: d._id }, { $set: { state: 'sending', claim: job, at } });
    return { ...d, state: 'sending', claim: job, at };
  }

  async function claimOne(id: string, claim: string, at: Date, staleMs: number, again = true): Promise<DeliveryDoc | null> {
    const d = await get(id);
    if (!d) return null;
    if (d.state === 'sending') return d.claim === claim ? d : null;
    if (d.state !== 'queued') return null;
    const taken = await take(d, claim, at);
    if (taken) return taken;
    const holder = await gate(claimGate(id, roundOf(d)));
    if (holder?.job === claim) {
      // This job's own earlier run took the gate and died before marking the delivery: a repeat is harmless here.
      await Deliveries.updateOne({ _id: id }, { $set: { state: 'sending', claim, at } });
      return { ...d, state: 'sending', claim, at };
    }
    if (!again || !holder || at.getTime() - holder.at.getTime() < staleMs) return null;
    // Another job took the gate long ago and never marked the delivery: it died between the two writes.
    await end(d, claim, { state: 'queued', reason: null }, at, true);
    return claimOne(id, claim, at, staleMs, false);
  }

  return {
    async claim(id, claim, at) {
      const d = await get(id);
      if (!d) return null;
      if (d.state === 'sending') return d.claim === claim ? { kind: 'own', d } : null;
      if (d.state !== 'queued') return null;
      const taken = await take(d, claim, at);
      if (taken) return { kind: 'held', d: taken };
      // The gate is this job's: an earlier run took it and died before marking the delivery (or is still
      // between its two writes): it may send, so this run must not.
      return (await gate(claimGate(id, roundOf(d))))?.job === claim ? { kind: 'own', d } : null;
    },
    async own(id, claim) {
      const d = await get(id);
      if (d?.state === 'sending') return d.claim === claim ? d : null;
      if (d?.state !== 'queued') return null;
      return (await gate(claimGate(id, roundOf(d))))?.job === claim ? d : null;
    },
    async claimMany(ids, claim, at, staleMs) {
      return (await inChunks(ids, (id) => claimOne(id, claim, at, staleMs))).filter((d): d is DeliveryDoc => d !== null);
    },
    finish: (d, claim, outcome, reason, at, recover = false) => end(d, claim, { state: outcome, reason }, at, recover),
    async finishMany(ds, claim, outcome, reason, at) {
      return (await inChunks(ds, (d) => end(d, claim, { state: outcome, reason }, at, false))).filter(Boolean).length;
    },
    release: (d, claim, at) => end(d, claim, { state: 'queued', reason: null }, at, false),
    async releaseMany(ds, claim, at, recover = false) {
      return (await inChunks(ds, (d) => end(d, claim, { state: 'queued', reason: null }, at, recover))).filter(Boolean).length;
    },
    async settleQueued(b, channel, outcome, reason, at) {
      // One read of the channel's queued ids (a whole-collection read here, once per cancel), then each by `_id`.
      const queued = await Deliveries.find({ _id: range(b, channel), state: 'queued' }, { _id: 1, round: 1 }).lean<Pick<DeliveryDoc, '_id' | 'round'>[]>();
      const settled = await inChunks(queued, async (d) => {
        if (!(await insertGate({ _id: claimGate(d._id, roundOf(d)), job: 'cancel', at }))) return false;
        await apply(d._id, roundOf(d), { state: outcome, reason }, at);
        return true;
      });
      return settled.filter(Boolean).length;
    },
  };
}
