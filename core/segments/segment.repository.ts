import type { Connection } from 'mongoose';
import { memberModels, type MemberDoc } from '../members/member.model.js';
import { segmentModel, type AudienceDoc, type SegmentDoc } from './audience.model.js';

/** Saved segments (by `_id`), and the members behind a page of audience documents. */
export function createSegmentRepository(conn: Connection) {
  const Segments = segmentModel(conn);
  const { Members } = memberModels(conn);
  return {
    async init(): Promise<void> {
      await Segments.createIndexes();
    },

    async insert(doc: SegmentDoc): Promise<void> {
      await Segments.collection.insertOne(doc as never);
    },

    /** The saved segments, oldest first (at most 500). */
    list(): Promise<SegmentDoc[]> {
      return Segments.find().sort({ createdAt: 1 }).limit(500).lean<SegmentDoc[]>().exec();
    },

    byId(id: string): Promise<SegmentDoc | null> {
      return Segments.findById(id).lean<SegmentDoc>().exec();
    },

    /** The segment after the change, or null when there is none. */
    update(id: string, set: Pick<SegmentDoc, 'name' | 'rules' | 'updatedAt'>): Promise<SegmentDoc | null> {
      return Segments.findOneAndUpdate({ _id: id }, { $set: set }, { returnDocument: 'after' }).lean<SegmentDoc>().exec();
    },

    /** False when there was no such segment. */
    async remove(id: string): Promise<boolean> {
      return (await Segments.deleteOne({ _id: id })).deletedCount === 1;
    },

    /**
     * Name, phone, card and status of the members of a page of audience documents: one look-up
     * by `_id` each (a page is at most 500). FerretDB v1 reads the whole members collection for
     * an `$in`, and uses its index only for `{_id}` alone.
     */
    async contacts(ids: AudienceDoc['_id'][]): Promise<MemberDoc[]> {
      const found = await Promise.all(ids.map((id) => Members.findById(id, { name: 1, phone: 1, cardNumber: 1, status: 1 }).lean<MemberDoc>().exec()));
      return found.filter((m): m is MemberDoc => m !== null);
    },
  };
}
export type SegmentRepository = ReturnType<typeof createSegmentRepository>;
