import type { Connection } from 'mongoose';
import { entryModel, type EntryDoc } from '../ledger/entry.model.js';
import { memberModels, type MemberDoc } from '../members/member.model.js';

/** A forward-only cursor: the next document (null at the end), and close when done early. */
export interface DocCursor<T> {
  next(): Promise<T | null>;
  close(): Promise<void>;
}

/** What the exports stream: members in id order, ledger entries of a period by time. Cursors read 1,000 at a time. */
export function createExportRepository(conn: Connection) {
  const { Members } = memberModels(conn);
  const Entries = entryModel(conn);
  return {
    /** Members not erased, in id order (the audience documents' order). */
    membersInIdOrder(): DocCursor<MemberDoc> {
      return Members.find({ status: { $ne: 'erased' } }).sort({ _id: 1 }).batchSize(1000).lean<MemberDoc[]>().cursor();
    },

    /** Ledger entries written in [start, end), oldest first; with `type`, only entries of that type. */
    entries(span: { start: Date; end: Date }, type?: EntryDoc['type']): AsyncIterable<EntryDoc> {
      return Entries.find({ ...(type ? { type } : {}), createdAt: { $gte: span.start, $lt: span.end } })
        .sort({ createdAt: 1, _id: 1 })
        .batchSize(1000)
        .lean<EntryDoc[]>()
        .cursor();
    },
  };
}
export type ExportRepository = ReturnType<typeof createExportRepository>;
