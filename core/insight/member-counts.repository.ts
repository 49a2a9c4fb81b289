import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { memberModels } from '../members/member.model.js';
import { insightModels } from './insight.model.js';

/** What the counting pass reads of a member. */
export interface CountedMember {
  registeredAt: Date | null;
  imported: boolean;
  referred: boolean;
  purchases: number;
  lastPurchaseAt: Date | null;
}

const SNAPSHOT_ID = 'member-days';
const META_ID = 'member-days-meta';
/** Members per cursor batch: one round trip per this many, whatever the base. */
const BATCH = 2000;

/**
 * The member counts' storage: one pass over the members (a cursor with a projection: one
 * collection scan on any store, never one per figure) and the result kept as one document of
 * `insight_snapshots`, read by `_id`.
 */
export function createMemberCountsRepository(conn: Connection) {
  const { Members } = memberModels(conn);
  const { Snapshots } = insightModels(conn);
  return {
    /** Every member not erased, as the pass needs them. */
    async *members(): AsyncGenerator<CountedMember> {
      const cursor = Members.collection.find(
        { status: { $ne: 'erased' } },
        { projection: { registeredAt: 1, 'imported.createdByImport': 1, referrerId: 1, 'stats.purchases': 1, 'stats.lastPurchaseAt': 1 }, batchSize: BATCH },
      );
      for await (const m of cursor) {
        const stats = m.stats as { purchases?: number; lastPurchaseAt?: Date | string | null } | undefined;
        yield {
          registeredAt: m.registeredAt instanceof Date ? m.registeredAt : null,
          imported: (m.imported as { createdByImport?: boolean } | undefined)?.createdByImport === true,
          referred: typeof m.referrerId === 'string' && m.referrerId.length > 0,
          purchases: stats?.purchases ?? 0,
          lastPurchaseAt: stats?.lastPurchaseAt ? new Date(stats.lastPurchaseAt) : null,
        };
      }
    },
    /** The last pass's date, duration and version: a small document, read on every report. */
    async meta(): Promise<{ at: Date; tookMs: number; version: string } | null> {
      const doc = await Snapshots.findById(META_ID).lean();
      return doc ? { at: doc.at, tookMs: Number(doc.data.tookMs ?? 0), version: typeof doc.data.version === 'string' ? doc.data.version : '' } : null;
    },
    /** The counts themselves (tens of kilobytes: read again only when the version changed). */
    async load(): Promise<Record<string, unknown> | null> {
      return (await Snapshots.findById(SNAPSHOT_ID).lean())?.data ?? null;
    },
    async save(at: Date, tookMs: number, data: object): Promise<void> {
      await Snapshots.collection.replaceOne({ _id: SNAPSHOT_ID as never }, { at, data }, { upsert: true });
      // The meta last: a reader that sees the new version finds the new counts.
      await Snapshots.collection.replaceOne({ _id: META_ID as never }, { at, data: { tookMs, version: randomUUID() } }, { upsert: true });
    },
  };
}
export type MemberCountsRepository = ReturnType<typeof createMemberCountsRepository>;
