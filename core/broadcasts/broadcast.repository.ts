import type { Connection } from 'mongoose';
import { insertRaw } from '../shared/mongo.js';
import { broadcastModels, type BroadcastDoc, type MarketingCapDoc } from './broadcast.model.js';
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
      of: async (memberIds: string[]): Promise<Map<string, MarketingCapDoc>> =>
        new Map((await Caps.find({ _id: { $in: memberIds } }).lean<MarketingCapDoc[]>()).map((c) => [c._id, c])),
      /**
       * Writes the members' new cap entries in one bulk write, each guarded by the version read
       * (or inserted when there was none). Returns the members whose write lost a race: the
       * caller reads and decides again for them.
       */
      async write(updates: { memberId: string; v: number | null; sent: CapEntry[] }[]): Promise<string[]> {
        if (updates.length === 0) return [];
        const lost: string[] = [];
        const fresh = updates.filter((u) => u.v === null);
        const known = updates.filter((u) => u.v !== null);
        if (known.length) {
          const r = await Caps.bulkWrite(
            known.map((u) => ({ updateOne: { filter: { _id: u.memberId, v: u.v ?? 0 }, update: { $set: { sent: u.sent, v: (u.v ?? 0) + 1 } } } })),
            { ordered: false },
          );
          if (r.matchedCount !== known.length) {
            const now = await Caps.find({ _id: { $in: known.map((u) => u.memberId) } }, { v: 1 }).lean<{ _id: string; v: number }[]>();
            const v = new Map(now.map((c) => [c._id, c.v]));
            for (const u of known) if (v.get(u.memberId) !== (u.v ?? 0) + 1) lost.push(u.memberId);
          }
        }
        if (fresh.length) {
          try {
            await Caps.insertMany(
              fresh.map((u) => ({ _id: u.memberId, sent: u.sent, v: 1 })),
              { ordered: false },
            );
          } catch (err) {
            // Duplicate ids: another broadcast wrote these members first.
            const inserted = new Set(((err as { insertedDocs?: { _id: string }[] }).insertedDocs ?? []).map((d) => d._id));
            const have = await Caps.find({ _id: { $in: fresh.map((u) => u.memberId) } }, { sent: 1 }).lean<MarketingCapDoc[]>();
            const mine = new Map(have.map((c) => [c._id, c]));
            for (const u of fresh) {
              if (inserted.has(u.memberId)) continue;
              const c = mine.get(u.memberId);
              if (!c || c.v !== 1 || JSON.stringify(c.sent.map((e) => e.b)) !== JSON.stringify(u.sent.map((e) => e.b))) lost.push(u.memberId);
            }
          }
        }
        return lost;
      },
    },
  };
}
export type BroadcastRepository = ReturnType<typeof createBroadcastRepository>;
