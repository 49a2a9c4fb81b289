import type { Connection } from 'mongoose';
import type { BroadcastChannel, DeliveryOutcome } from './broadcast.types.js';
import { deliveryModel, type DeliveryDoc } from './delivery.model.js';

/** `_id` range of one broadcast's deliveries of one channel (ids are `${b}:${channel}:${member}`). */
const range = (b: string, channel: string): { $gt: string; $lt: string } => ({ $gt: `${b}:${channel}:`, $lt: `${b}:${channel};` });

/**
 * Delivery records. Every state change is one conditional update on one document, so each
 * record moves queued → sending → outcome exactly once whoever races for it.
 */
export function createDeliveryRepository(conn: Connection) {
  const Deliveries = deliveryModel(conn);
  return {
    init: async (): Promise<void> => {
      await Deliveries.createIndexes();
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
    /** queued → sending, for `claim` only; null when it is not queued (sent, taken by another, canceled). */
    claim: (id: string, claim: string, at: Date): Promise<DeliveryDoc | null> =>
      Deliveries.findOneAndUpdate({ _id: id, state: 'queued' }, { $set: { state: 'sending', claim, at } }, { returnDocument: 'after' }).lean<DeliveryDoc>(),
    /** Claims every queued one of `ids` for `claim` (one update), returning those it now holds. */
    async claimMany(ids: string[], claim: string, at: Date): Promise<DeliveryDoc[]> {
      await Deliveries.updateMany({ _id: { $in: ids }, state: 'queued' }, { $set: { state: 'sending', claim, at } });
      return Deliveries.find({ _id: { $in: ids }, state: 'sending', claim }).lean<DeliveryDoc[]>();
    },
    /** sending (by `claim`) → outcome; false when the claim was not held (nothing changes then). */
    async finish(id: string, claim: string, outcome: DeliveryOutcome, reason: string | null, at: Date): Promise<boolean> {
      const r = await Deliveries.updateOne({ _id: id, state: 'sending', claim }, { $set: { state: outcome, reason, claim: null, at } });
      return r.modifiedCount === 1;
    },
    /** Many sending (by `claim`) → one outcome; returns how many moved. */
    async finishMany(ids: string[], claim: string, outcome: DeliveryOutcome, reason: string | null, at: Date): Promise<number> {
      if (ids.length === 0) return 0;
      const r = await Deliveries.updateMany({ _id: { $in: ids }, state: 'sending', claim }, { $set: { state: outcome, reason, claim: null, at } });
      return r.modifiedCount;
    },
    /** Gives back every delivery `claim` holds among `ids`; returns how many. */
    async releaseMany(ids: string[], claim: string): Promise<number> {
      const r = await Deliveries.updateMany({ _id: { $in: ids }, state: 'sending', claim }, { $set: { state: 'queued', claim: null } });
      return r.modifiedCount;
    },
    /** sending (by `claim`) → queued: nothing reached the chat (a 429, a pause). */
    async release(id: string, claim: string): Promise<boolean> {
      const r = await Deliveries.updateOne({ _id: id, state: 'sending', claim }, { $set: { state: 'queued', claim: null } });
      return r.modifiedCount === 1;
    },
    /** Every queued delivery of a broadcast's channel becomes `outcome` (cancel); returns how many. */
    async settleQueued(b: string, channel: BroadcastChannel, outcome: DeliveryOutcome, reason: string, at: Date): Promise<number> {
      const r = await Deliveries.updateMany({ _id: range(b, channel), state: 'queued' }, { $set: { state: outcome, reason, at } });
      return r.modifiedCount;
    },
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
