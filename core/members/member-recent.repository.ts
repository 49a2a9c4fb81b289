import type { Connection } from 'mongoose';

const COLLECTION = 'member_list';
/** Members per list document. */
const CHUNK = 100;

interface ListDoc {
  _id: string;
  /** On `seq`: how many members were numbered. */
  n?: number;
  /** On a chunk `c<k>`: its members with their numbers (k·CHUNK … k·CHUNK + CHUNK − 1). */
  m?: { s: number; id: string }[];
}

/**
 * The members in joining order, for the staff's member list on the embedded store. FerretDB
 * v1 answers a filter from an index only when it is `{_id: …}` alone, and any sort (even
 * `$natural` on a capped collection) reads the whole collection, so a list page of
 * `members.find().sort({_id: -1})` read all members (17 s at 100,000). Here each member gets a
 * number (one `$inc` on a counter) and goes into a chunk document of 100 by `_id`; a list page
 * reads the counter and one or two chunks by `_id`: its cost does not grow with the base.
 * A crash between a member's insert and its line here leaves that member out of the list, not
 * out of search. On MongoDB the list reads members by the `_id` index and this is not kept
 * (`enabled: false`).
 */
export function createMemberRecentRepository(conn: Connection, opts: { enabled: boolean }) {
  const coll = () => conn.collection<ListDoc>(COLLECTION);
  const chunkOf = (seq: number): string => `c${Math.floor(seq / CHUNK)}`;
  return {
    enabled: opts.enabled,
    /** Members just created, in the order they joined. */
    async add(memberIds: string[]): Promise<void> {
      if (!opts.enabled || memberIds.length === 0) return;
      const counter = await coll().findOneAndUpdate({ _id: 'seq' }, { $inc: { n: memberIds.length } }, { upsert: true, returnDocument: 'after' });
      const first = (counter?.n ?? memberIds.length) - memberIds.length;
      const chunks = new Map<string, { s: number; id: string }[]>();
      memberIds.forEach((id, i) => {
        const s = first + i;
        const list = chunks.get(chunkOf(s)) ?? [];
        list.push({ s, id });
        chunks.set(chunkOf(s), list);
      });
      for (const [_id, m] of chunks) await coll().updateOne({ _id }, { $push: { m: { $each: m } } }, { upsert: true });
    },
    /** Member ids newest first, from `offset`. */
    async page(offset: number, limit: number): Promise<string[]> {
      const total = (await coll().findOne({ _id: 'seq' }))?.n ?? 0;
      const hi = total - 1 - offset;
      const lo = Math.max(0, hi - limit + 1);
      if (hi < 0) return [];
      const ids: string[] = [];
      for (let k = Math.floor(lo / CHUNK); k <= Math.floor(hi / CHUNK); k++) ids.push(`c${k}`);
      const docs = await Promise.all(ids.map((_id) => coll().findOne({ _id })));
      return docs
        .flatMap((d) => d?.m ?? [])
        .filter((e) => e.s >= lo && e.s <= hi)
        .sort((a, b) => b.s - a.s)
        .map((e) => e.id);
    },
    /** Every member's id and name (not erased ones): what the name index is read from. */
    async *names(): AsyncGenerator<{ id: string; name: string }> {
      for await (const m of conn.collection('members').find({}, { projection: { name: 1, status: 1 }, batchSize: 2000 })) {
        if (m.status !== 'erased' && typeof m.name === 'string') yield { id: String(m._id), name: m.name };
      }
    },
  };
}
export type MemberRecentRepository = ReturnType<typeof createMemberRecentRepository>;
