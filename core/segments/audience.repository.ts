import { Types, type Connection } from 'mongoose';
import { contestModels } from '../contests/contest.model.js';
import { insightModels } from '../insight/insight.model.js';
import { memberModels, type MemberDoc, type MemberStats } from '../members/member.model.js';
import { DomainError } from '../shared/errors.js';
import { walletModels } from '../wallet/wallet.model.js';
import { audienceCollection, type AudienceDoc, type AudienceSnapshot } from './audience.model.js';

const SNAPSHOT_ID = 'audience';

/**
 * The audience builds: what a build reads (one pass over each source collection, never a
 * look-up per member: FerretDB v1 has no $lookup), the build collection it writes (inserts
 * only), the snapshot that names the current build, and reads of a build by a compiled
 * segment filter.
 */
export function createAudienceRepository(conn: Connection, opts: { unsorted: boolean } = { unsorted: false }) {
  // A build is written by inserts only, in `_id` order (activeMembers), so its natural order is
  // `_id` order. FerretDB v1 sorts by reading the whole collection into memory; without a sort it
  // streams and stops at the limit, so on FerretDB (`unsorted`) reads of a build leave the sort out.
  const byId = <T extends { sort(s: Record<string, 1>): T }>(q: T): T => (opts.unsorted ? q : q.sort({ _id: 1 }));
  const { Members, Identities } = memberModels(conn);
  const { Snapshots } = insightModels(conn);
  const { Passes, Registrations } = walletModels(conn);
  const { Entries } = contestModels(conn);
  const active = { status: 'active' as const };

  return {
    /** The counters copy of each active member who bought anything. */
    async *purchaserStats(): AsyncGenerator<MemberStats> {
      for await (const m of Members.find({ ...active, 'stats.purchases': { $gt: 0 } }, { stats: 1 }).lean<Pick<MemberDoc, 'stats'>[]>().cursor()) {
        if (m.stats) yield m.stats;
      }
    },

    /** Every channel identity (`<channel>:<account>`) with its member. */
    identities(): AsyncIterable<{ _id: string; memberId: string }> {
      return Identities.find({}, { memberId: 1 }).lean<{ _id: string; memberId: string }[]>().cursor();
    },

    /** The serial of every registration of a device for a pass's updates. */
    async *registeredSerials(): AsyncGenerator<string> {
      for await (const r of Registrations.find({}, { serial: 1 }).lean<{ serial: string }[]>().cursor()) yield r.serial;
    },

    /** Every Wallet pass (serial) with its card. */
    passes(): AsyncIterable<{ _id: string; card: string }> {
      return Passes.find({}, { card: 1 }).lean<{ _id: string; card: string }[]>().cursor();
    },

    /** The member of every contest entry made by a member (once per entry). */
    async *contestEntrants(): AsyncGenerator<string> {
      for await (const e of Entries.find({ memberId: { $ne: null } }, { memberId: 1 }).lean<{ memberId: string }[]>().cursor()) yield e.memberId;
    },

    /** The referrer of every invited member (once per invitee). */
    async *referrers(): AsyncGenerator<string> {
      for await (const m of Members.find({ referrerId: { $ne: null } }, { referrerId: 1 }).lean<{ referrerId: string }[]>().cursor()) yield m.referrerId;
    },

    /** The active members in id order. */
    activeMembers(): AsyncIterable<MemberDoc> {
      return Members.find(active).sort({ _id: 1 }).lean<MemberDoc[]>().cursor();
    },

    /** A new build collection, written by inserts only, then indexed for the segment filters. */
    build(name: string) {
      const out = audienceCollection(conn, name);
      return {
        async insert(docs: AudienceDoc[]): Promise<void> {
          if (docs.length) await out.insertMany(docs);
        },
        async index(): Promise<void> {
          await out.createIndexes([{ key: { rfmGroup: 1 } }, { key: { lastPurchaseAt: 1 } }, { key: { level: 1 } }]).catch(() => undefined);
        },
      };
    },

    /** The last build, or null before the first one. */
    async current(): Promise<AudienceSnapshot | null> {
      const doc = await Snapshots.findById(SNAPSHOT_ID).lean();
      return doc ? (doc.data as unknown as AudienceSnapshot) : null;
    },

    /** Makes `snap` (and its collection) the current build: one write. */
    async publish(at: Date, snap: AudienceSnapshot): Promise<void> {
      await Snapshots.collection.replaceOne({ _id: SNAPSHOT_ID as never }, { at, data: snap }, { upsert: true });
    },

    /** Drops every build collection but those named in `keep`. */
    async dropBuildsExcept(keep: ReadonlySet<string>): Promise<void> {
      const db = conn.db;
      if (!db) return;
      for (const c of await db.listCollections({}, { nameOnly: true }).toArray()) {
        if (c.name.startsWith('audience_') && !keep.has(c.name)) await db.dropCollection(c.name).catch(() => undefined);
      }
    },

    /** How many audience documents of build `name` match `filter`. */
    count(name: string, filter: Record<string, unknown>): Promise<number> {
      return audienceCollection(conn, name).countDocuments(filter);
    },

    /** Up to `limit` matching documents after member id `after`, in member-id order; a malformed `after` is validation_failed. */
    page(name: string, filter: Record<string, unknown>, opts: { after?: string | undefined; limit: number }): Promise<AudienceDoc[]> {
      if (opts.after && !Types.ObjectId.isValid(opts.after)) throw new DomainError('validation_failed', 'bad cursor');
      return byId(audienceCollection(conn, name).find(opts.after ? { $and: [filter, { _id: { $gt: new Types.ObjectId(opts.after) } }] } : filter))
        .limit(opts.limit)
        .toArray();
    },

    /** The member ids of the matching documents in id order, from one cursor read `batchSize` at a time. */
    async *ids(name: string, filter: Record<string, unknown>, batchSize: number): AsyncGenerator<string> {
      for await (const d of byId(audienceCollection(conn, name).find(filter, { projection: { _id: 1 } })).batchSize(batchSize)) {
        yield String((d as Pick<AudienceDoc, '_id'>)._id);
      }
    },

    /** The matching documents in member-id order, from one cursor. */
    docs(name: string, filter: Record<string, unknown>): AsyncIterable<AudienceDoc> {
      return audienceCollection(conn, name).find(filter).sort({ _id: 1 }).batchSize(1000);
    },
  };
}
export type AudienceRepository = ReturnType<typeof createAudienceRepository>;
