import { Types, type Connection } from 'mongoose';
import { walletModels } from '../wallet/wallet.model.js';
import type { MemberListing } from './member-listing.js';
import { nameKey } from './member-names.index.js';
import { memberModels, type MemberDoc } from './member.model.js';

export interface MemberRow {
  id: string;
  name: string;
  cardNumber: string | null;
  status: MemberDoc['status'];
  joinedVia: MemberDoc['joinedVia'];
  createdAt: Date;
  balance: number | null;
}

const row = (m: MemberDoc): MemberRow => ({
  id: String(m._id),
  name: m.name,
  cardNumber: m.cardNumber,
  status: m.status,
  joinedVia: m.joinedVia,
  createdAt: m.createdAt,
  balance: m.stats?.balance ?? null,
});

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where a list page starts on the embedded store: `o<offset>` into the newest-first list. */
const OFFSET = /^o(\d{1,7})$/;

/**
 * The staff's member list: newest first (by keyset on `_id`, or on the embedded store through
 * member-recent.repository.ts), and look-ups by name prefix.
 */
export function createMemberDirectoryRepository(conn: Connection, listing: Pick<MemberListing, 'recent' | 'names'>) {
  const { recent, names } = listing;
  const { Members } = memberModels(conn);
  const { Registrations } = walletModels(conn);
  // One look-up by _id each: the only filter FerretDB v1 answers from an index.
  const byIds = async (ids: string[]): Promise<(MemberDoc | null)[]> => Promise.all(ids.map((id) => Members.findById(id).lean<MemberDoc>()));
  return {
    async page(opts: { after?: string | undefined; limit: number }): Promise<{ items: MemberRow[]; next: string | null }> {
      if (recent.enabled) {
        const offset = Number(OFFSET.exec(opts.after ?? '')?.[1] ?? 0);
        const ids = await recent.page(offset, opts.limit + 1);
        const docs = await byIds(ids.slice(0, opts.limit));
        const items = docs.filter((m): m is MemberDoc => m !== null && m.status !== 'erased').map(row);
        return { items, next: ids.length > opts.limit ? `o${offset + opts.limit}` : null };
      }
      const filter: Record<string, unknown> = { status: { $ne: 'erased' } };
      if (opts.after && Types.ObjectId.isValid(opts.after)) filter._id = { $lt: new Types.ObjectId(opts.after) };
      const docs = await Members.find(filter).sort({ _id: -1 }).limit(opts.limit + 1).lean<MemberDoc[]>();
      const items = docs.slice(0, opts.limit).map(row);
      return { items, next: docs.length > opts.limit ? (items.at(-1)?.id ?? null) : null };
    },
    /** Names starting with `prefix`, as typed or capitalised (an anchored, case-sensitive prefix can use the name index). */
    async byNamePrefix(prefix: string, limit: number): Promise<MemberRow[]> {
      // The embedded store: candidates from memory (member-names.index.ts), checked against the members themselves.
      const candidates = names?.candidates(prefix, limit * 2) ?? null;
      if (candidates) {
        const p = nameKey(prefix);
        return (await byIds(candidates))
          .filter((m): m is MemberDoc => m !== null && m.status !== 'erased' && nameKey(m.name).startsWith(p))
          .sort((a, b) => a.name.localeCompare(b.name, 'ru'))
          .slice(0, limit)
          .map(row);
      }
      const forms = [...new Set([prefix, prefix.charAt(0).toUpperCase() + prefix.slice(1)])];
      const docs = await Members.find({ $or: forms.map((f) => ({ name: { $regex: `^${escapeRegex(f)}` } })), status: { $ne: 'erased' } })
        .sort({ name: 1 })
        .limit(limit)
        .lean<MemberDoc[]>();
      return docs.map(row);
    },
    rowOf: row,
    /** Builds what name search needs in memory on the embedded store (a no-op elsewhere). */
    warmUp: async (): Promise<void> => names?.ready(),
    /** Devices that installed the card's Wallet pass (serial = card number). */
    passDevices: (cardNumber: string) => Registrations.countDocuments({ serial: cardNumber }),
  };
}
export type MemberDirectoryRepository = ReturnType<typeof createMemberDirectoryRepository>;
