import type { Connection } from 'mongoose';

const COLLECTION = 'members_recent';

/**
 * The newest members in joining order, for the staff's member list on the embedded store.
 * FerretDB v1 reads a whole collection for any filter or sort, except a `$natural` sort of a
 * capped collection, which it hands to SQLite as ORDER BY record id: so a list page of
 * `members.find().sort({_id: -1})` read all members (4.4 s at 20,000), while a capped
 * collection of member ids read backwards costs what the page costs. It keeps the newest
 * 100,000; older members are found by phone, card or name. A crash between a member's insert
 * and its line here leaves that member out of the list, not out of search. On MongoDB the list
 * reads members by the `_id` index and this collection is not kept (`enabled: false`).
 */
export function createMemberRecentRepository(conn: Connection, opts: { enabled: boolean }) {
  const coll = () => conn.collection<{ m: string }>(COLLECTION);
  return {
    enabled: opts.enabled,
    async init(): Promise<void> {
      if (!opts.enabled || !conn.db) return;
      if ((await conn.db.listCollections({ name: COLLECTION }).toArray()).length > 0) return;
      try {
        await conn.db.createCollection(COLLECTION, { capped: true, size: 16 * 1024 * 1024, max: 100_000 });
      } catch (err) {
        // Another process made it between the look and the create.
        if ((err as { codeName?: string }).codeName !== 'NamespaceExists') throw err;
      }
    },
    /** Members just created, in the order they joined. */
    async add(memberIds: string[]): Promise<void> {
      if (!opts.enabled || memberIds.length === 0) return;
      await coll().insertMany(memberIds.map((m) => ({ m })), { ordered: true });
    },
    /** Every member's id and name (not erased ones): what the name index is read from. */
    async *names(): AsyncGenerator<{ id: string; name: string }> {
      for await (const m of conn.collection('members').find({}, { projection: { name: 1, status: 1 }, batchSize: 2000 })) {
        if (m.status !== 'erased' && typeof m.name === 'string') yield { id: String(m._id), name: m.name };
      }
    },
    /** Member ids newest first, from `offset`. */
    async page(offset: number, limit: number): Promise<string[]> {
      const docs = await coll().find({}, { projection: { m: 1 } }).sort({ $natural: -1 }).skip(offset).limit(limit).toArray();
      return docs.map((d) => d.m);
    },
  };
}
export type MemberRecentRepository = ReturnType<typeof createMemberRecentRepository>;
