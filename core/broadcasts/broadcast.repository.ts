import type { Connection } from 'mongoose';
import { deleteInBatches, insertRaw } from '../shared/mongo.js';
import { isDuplicateKey } from '../shared/errors.js';
import { broadcastModels, type BroadcastDoc, type MarketingSendDoc } from './broadcast.model.js';
import type { CapEntry } from './broadcast.rules.js';
import type { BroadcastStatus } from './broadcast.types.js';

/** Broadcasts and the members' frequency-cap records. */
export function createBroadcastRepository(conn: Connection) {
  const { Broadcasts, Caps } = broadcastModels(conn);
  return {
    init: async (): Promise<void> => {
      await Promise.all([Broadcasts.createIndexes(), Caps.createIndexes()]);
    },
    insert: (doc: BroadcastDoc): Promise<void> => insertRaw(Broadcasts, doc),
    get: (id: string): Promise<BroadcastDoc | null> => Broadcasts.findById(id).lean<BroadcastDoc>(),
    async exists(id: string): Promise<boolean> {
      return (await Broadcasts.exists({ _id: id })) !== null;
    },
    /** Newest first; `before` is the createdAt of the previous page's last one. */
    list: (opts: { limit: number; before?: Date | undefined; kind?: BroadcastDoc['kind'] }): Promise<BroadcastDoc[]> =>
      Broadcasts.find({ ...(opts.before ? { createdAt: { $lt: opts.before } } : {}), ...(opts.kind ? { kind: opts.kind } : {}) })
        .sort({ createdAt: -1 })
        .limit(opts.limit)
        .lean<BroadcastDoc[]>(),
    /** Moves the status from one of `from` to `to` (one atomic update); false when it was in none of them. */
    async transition(id: string, from: readonly BroadcastStatus[], to: BroadcastStatus, set: Partial<BroadcastDoc> = {}): Promise<boolean> {
      const r = await Broadcasts.updateOne({ _id: id, status: { $in: from } }, { $set: { status: to, ...set } });
      return r.modifiedCount === 1;
    },
    /** Adds to counters (`counts.telegram.sent`: 1, `counts.telegram.queued`: -1 …) in one atomic update. */
    async inc(id: string, by: Record<string, number>, set: Partial<BroadcastDoc> = {}): Promise<void> {
      const nonZero = Object.fromEntries(Object.entries(by).filter(([, n]) => n !== 0));
      if (Object.keys(nonZero).length === 0 && Object.keys(set).length === 0) return;
      await Broadcasts.updateOne({ _id: id }, { ...(Object.keys(nonZero).length ? { $inc: nonZero } : {}), ...(Object.keys(set).length ? { $set: set } : {}) });
    },
    /** Replaces counters by dotted path (`counts.telegram.sent`: 5), the recovery pass's recount. */
    async setCounts(id: string, set: Record<string, number>): Promise<void> {
      await Broadcasts.updateOne({ _id: id }, { $set: set });
    },
    /** Like `inc`, in one command, returning the broadcast after it (whether it is done is read from it). */
    incAndGet: (id: string, by: Record<string, number>, set: Partial<BroadcastDoc> = {}): Promise<BroadcastDoc | null> =>
      Broadcasts.findOneAndUpdate({ _id: id }, { $inc: by, ...(Object.keys(set).length ? { $set: set } : {}) }, { returnDocument: 'after' }).lean<BroadcastDoc>(),
    async set(id: string, set: Partial<BroadcastDoc>): Promise<void> {
      await Broadcasts.updateOne({ _id: id }, { $set: set });
    },
    /** Broadcasts in `status`, oldest first (the scheduler's and the sweeper's look-up). */
    inStatus: (status: readonly BroadcastStatus[], limit = 100): Promise<BroadcastDoc[]> =>
      Broadcasts.find({ status: { $in: status } }).sort({ createdAt: 1 }).limit(limit).lean<BroadcastDoc[]>(),
    /** Whether an automation already ran with this once-only key. */
    async automationRan(key: string): Promise<boolean> {
      return (await Broadcasts.exists({ automation: key })) !== null;
    },

    caps: {
      /** The marketing messages counted for these members since `since`, by member. */
      async recent(memberIds: string[], since: Date): Promise<Map<string, CapEntry[]>> {
        const out = new Map<string, CapEntry[]>();
        if (memberIds.length === 0) return out;
        const docs = await Caps.find({ memberId: { $in: memberIds }, at: { $gt: since } }, { memberId: 1, b: 1, at: 1 }).lean<MarketingSendDoc[]>();
        for (const d of docs) out.set(d.memberId, [...(out.get(d.memberId) ?? []), { b: d.b, at: d.at }]);
        return out;
      },
      /** Counts broadcast `b` for these members (one insert; ones already counted are left as they are). */
      async record(b: string, memberIds: string[], at: Date): Promise<void> {
        if (memberIds.length === 0) return;
        try {
          await Caps.insertMany(
            memberIds.map((m) => ({ _id: `${m}:${b}`, memberId: m, b, at })),
            { ordered: false },
          );
        } catch (err) {
          if (!isDuplicateKey(err) && !(err as { writeErrors?: unknown[] }).writeErrors) throw err;
        }
      },
      /** Deletes the records counted before `before`, in batches (FerretDB refuses one delete of too many ids); returns how many. */
      prune: (before: Date): Promise<number> => deleteInBatches(Caps, { at: { $lt: before } }),
    },
  };
}
export type BroadcastRepository = ReturnType<typeof createBroadcastRepository>;
