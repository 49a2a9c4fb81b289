import type { Connection } from 'mongoose';
import type { BroadcastChannel } from './broadcast.types.js';
import { gatedTransitions, type DeliveryTransitions } from './delivery-gate.repository.js';
import { deliveryModel, gateModel, type DeliveryDoc, type DeliveryModel } from './delivery.model.js';

/** `_id` range of one broadcast's deliveries of one channel (ids are `${b}:${channel}:${member}`). */
const range = (b: string, channel: string): { $gt: string; $lt: string } => ({ $gt: `${b}:${channel}:`, $lt: `${b}:${channel};` });

/**
 * The state changes of deliveries on MongoDB: each is one conditional update on one document
 * (an index look-up there), so each record moves queued → sending → outcome exactly once
 * whoever races for it. FerretDB v1 reads its whole collection for such a filter, so there the
 * gates of delivery-gate.repository.ts decide instead; they would work here too, at five
 * commands a message instead of three, so MongoDB keeps these.
 */
function guardedTransitions(Deliveries: DeliveryModel): DeliveryTransitions {
  const get = (id: string): Promise<DeliveryDoc | null> => Deliveries.findById(id).lean<DeliveryDoc>();
  async function releaseMany(ds: { _id: string }[], claim: string): Promise<number> {
    if (ds.length === 0) return 0;
    const r = await Deliveries.updateMany({ _id: { $in: ds.map((d) => d._id) }, state: 'sending', claim }, { $set: { state: 'queued', claim: null } });
    return r.modifiedCount;
  }
  return {
    async claim(id, claim, at) {
      const held = await Deliveries.findOneAndUpdate({ _id: id, state: 'queued' }, { $set: { state: 'sending', claim, at } }, { returnDocument: 'after' }).lean<DeliveryDoc>();
      if (held) return { kind: 'held', d: held };
      const d = await get(id);
      return d?.state === 'sending' && d.claim === claim ? { kind: 'own', d } : null;
    },
    async own(id, claim) {
      const d = await get(id);
      return d?.state === 'sending' && d.claim === claim ? d : null;
    },
    async claimMany(ids, claim, at) {
      await Deliveries.updateMany({ _id: { $in: ids }, state: 'queued' }, { $set: { state: 'sending', claim, at } });
      return Deliveries.find({ _id: { $in: ids }, state: 'sending', claim }).lean<DeliveryDoc[]>();
    },
    async finish(d, claim, outcome, reason, at) {
      const r = await Deliveries.updateOne({ _id: d._id, state: 'sending', claim }, { $set: { state: outcome, reason, claim: null, at } });
      return r.modifiedCount === 1;
    },
    async finishMany(ds, claim, outcome, reason, at) {
      if (ds.length === 0) return 0;
      const r = await Deliveries.updateMany({ _id: { $in: ds.map((d) => d._id) }, state: 'sending', claim }, { $set: { state: outcome, reason, claim: null, at } });
      return r.modifiedCount;
    },
    release: async (d, claim) => (await releaseMany([d], claim)) === 1,
    releaseMany: (ds, claim) => releaseMany(ds, claim),
    async settleQueued(b, channel, outcome, reason, at) {
      const r = await Deliveries.updateMany({ _id: range(b, channel), state: 'queued' }, { $set: { state: outcome, reason, at } });
      return r.modifiedCount;
    },
  };
}

/**
 * Delivery records: planning's writes, the senders' state changes (conditional updates on
 * MongoDB, gates on FerretDB: `guarded` as core.ts's guardedCardWrites), and the reads that
 * page a broadcast's deliveries by `_id` range (the sweep, requeue, reports).
 */
export function createDeliveryRepository(conn: Connection, opts: { guarded: boolean }) {
  const Deliveries = deliveryModel(conn);
  const Gates = gateModel(conn);
  const transitions = opts.guarded ? guardedTransitions(Deliveries) : gatedTransitions(Deliveries, Gates, range);
  return {
    ...transitions,
    init: async (): Promise<void> => {
      await Promise.all([Deliveries.createIndexes(), Gates.createIndexes()]);
    },
    /** Which of these ids already have a record (a planning page retried). */
    async existing(ids: string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const found = await Deliveries.find({ _id: { $in: ids } }, { _id: 1 }).lean<{ _id: string }[]>();
      return new Set(found.map((d) => d._id));
    },
    async insertMany(docs: DeliveryDoc[]): Promise<void> {
      if (docs.length) await Deliveries.insertMany(docs, { ordered: false, lean: true });
    },
    get: (id: string): Promise<DeliveryDoc | null> => Deliveries.findById(id).lean<DeliveryDoc>(),
    many: (ids: string[]): Promise<DeliveryDoc[]> => Deliveries.find({ _id: { $in: ids } }).lean<DeliveryDoc[]>(),
    /** How many of a broadcast's deliveries of one channel are in each of `states`. */
    async countStates(b: string, channel: BroadcastChannel, states: readonly DeliveryDoc['state'][]): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      for (const state of states) out[state] = await Deliveries.countDocuments({ _id: range(b, channel), state });
      return out;
    },
    /** Ids of a broadcast's channel deliveries in `state`, a page at a time by `_id`. */
    async idsInState(b: string, channel: BroadcastChannel, state: DeliveryDoc['state'], after: string | null, limit: number): Promise<DeliveryDoc[]> {
      const r = range(b, channel);
      return Deliveries.find({ _id: { $gt: after && after > r.$gt ? after : r.$gt, $lt: r.$lt }, state })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<DeliveryDoc[]>();
    },
    /** Member ids of a broadcast's deliveries of `channel` (in `states`), a page at a time. */
    async *memberPages(b: string, channel: BroadcastChannel | 'holdout', states: readonly DeliveryDoc['state'][], pageSize = 1000): AsyncGenerator<string[]> {
      const r = range(b, channel);
      let after = r.$gt;
      for (;;) {
        const page = await Deliveries.find({ _id: { $gt: after, $lt: r.$lt } }, { _id: 1, memberId: 1, state: 1 })
          .sort({ _id: 1 })
          .limit(pageSize)
          .lean<{ _id: string; memberId: string; state: DeliveryDoc['state'] }[]>();
        const last = page[page.length - 1];
        if (!last) return;
        const ids = page.filter((d) => states.includes(d.state)).map((d) => d.memberId);
        if (ids.length) yield ids;
        after = last._id;
      }
    },
  };
}
export type DeliveryRepository = ReturnType<typeof createDeliveryRepository>;
