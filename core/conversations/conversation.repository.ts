import type { Connection } from 'mongoose';
import { systemClock, type Clock } from '../shared/clock.js';
import { conversationModel, type ConversationDoc } from './conversation.model.js';

export type ConversationState = Pick<ConversationDoc, 'step' | 'data' | 'language'>;

/**
 * Dialogue state per channel identity. Every write is one single-document upsert: the last
 * message a person sent decides the step, and no transaction is needed.
 */
export function createConversationRepository(conn: Connection, opts: { clock?: Clock | undefined } = {}) {
  const Conversations = conversationModel(conn);
  const clock = opts.clock ?? systemClock;

  return {
    async init(): Promise<void> {
      await Conversations.createIndexes();
    },

    async get(identity: string): Promise<ConversationState | null> {
      const doc = await Conversations.findById(identity).lean<ConversationDoc>();
      return doc ? { step: doc.step, data: doc.data ?? {}, language: doc.language } : null;
    },

    async save(identity: string, state: ConversationState): Promise<void> {
      await Conversations.updateOne(
        { _id: identity },
        { $set: { step: state.step, data: state.data, language: state.language, updatedAt: clock.now() } },
        { upsert: true },
      );
    },

    /**
     * Joins left before consent, last touched before `before`: their phone and name (and any
     * state still holding them) are deleted; the next message starts over. Off the hot path
     * (hourly): on FerretDB it reads the collection.
     */
    async expireJoins(before: Date): Promise<number> {
      const r = await Conversations.deleteMany({
        updatedAt: { $lt: before },
        $or: [{ step: { $in: ['join.phone', 'join.name', 'join.consent'] } }, { 'data.phone': { $exists: true } }, { 'data.name': { $exists: true } }],
      });
      return r.deletedCount;
    },

    /** Forgets the dialogue (declined consent, erased member): nothing typed so far is kept. */
    async remove(identity: string): Promise<void> {
      await Conversations.deleteOne({ _id: identity });
    },
  };
}
export type ConversationRepository = ReturnType<typeof createConversationRepository>;
