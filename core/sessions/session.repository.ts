import type { Connection } from 'mongoose';
import { sessionModel, type SessionDoc } from './session.model.js';

export function createSessionRepository(conn: Connection) {
  const Sessions = sessionModel(conn);
  return {
    async init(): Promise<void> {
      await Sessions.createIndexes();
    },
    async insert(doc: SessionDoc): Promise<void> {
      await Sessions.create(doc);
    },
    byId: (id: string) => Sessions.findById(id).lean<SessionDoc>(),
    async touch(id: string, at: Date): Promise<void> {
      await Sessions.updateOne({ _id: id }, { $set: { lastSeenAt: at } });
    },
    async remove(id: string): Promise<void> {
      await Sessions.deleteOne({ _id: id });
    },
    async removeForUser(userId: string): Promise<number> {
      return (await Sessions.deleteMany({ userId })).deletedCount;
    },
    /** FerretDB v1 has no TTL indexes: ended sessions are swept when someone signs in. */
    async removeEnded(now: Date, idleBefore: Date): Promise<void> {
      await Sessions.deleteMany({ $or: [{ expiresAt: { $lte: now } }, { lastSeenAt: { $lte: idleBefore } }] });
    },
  };
}
export type SessionRepository = ReturnType<typeof createSessionRepository>;
