import { Schema, type Connection, type Model } from 'mongoose';
import { systemClock, type Clock } from '../shared/clock.js';
import type { DomainEvent } from './event.types.js';

/**
 * The outbox of events that are not ledger movements (contest wins, phone codes). Ledger
 * entries are their own outbox (core/ledger/ledger.service.ts hands their events over itself).
 * The relay hands events to `publish`, which must be idempotent by event id (BullMQ jobId),
 * then deletes them: a crash in between publishes again and the jobId drops the duplicate.
 * Deleting keeps the collection as small as the backlog, so the relay's query stays cheap
 * even on FerretDB v1, which reads the whole collection for any filter.
 */
interface OutboxDoc {
  _id: string;
  event: DomainEvent;
  createdAt: Date;
}
const outboxSchema = new Schema<OutboxDoc>({ _id: String, event: Schema.Types.Mixed, createdAt: Date }, { collection: 'outbox_events', versionKey: false });
outboxSchema.index({ createdAt: 1 });

export function createOutbox(deps: { conn: Connection; clock?: Clock }) {
  const Outbox = (deps.conn.models.OutboxEvent as Model<OutboxDoc> | undefined) ?? deps.conn.model<OutboxDoc>('OutboxEvent', outboxSchema);
  const clock = deps.clock ?? systemClock;
  return {
    async init(): Promise<void> {
      await Outbox.createIndexes();
    },
    async add(event: DomainEvent): Promise<void> {
      await Outbox.updateOne({ _id: event.id }, { $setOnInsert: { event, createdAt: clock.now() } }, { upsert: true });
    },
    /** Several at once, each once by id (one command). */
    async addMany(events: DomainEvent[]): Promise<void> {
      if (events.length === 0) return;
      const now = clock.now();
      await Outbox.bulkWrite(events.map((event) => ({ updateOne: { filter: { _id: event.id }, update: { $setOnInsert: { event, createdAt: now } }, upsert: true } })));
    },
    /** Erasure: the member's events not relayed yet (a code, a win naming their account) go unsent. */
    async forgetMember(memberId: string): Promise<number> {
      return (await Outbox.deleteMany({ 'event.memberId': memberId })).deletedCount;
    },
    /** One relay pass: publishes up to `limit` events, returns how many. */
    async relayOnce(publish: (events: DomainEvent[]) => Promise<void>, limit = 500): Promise<number> {
      const docs = await Outbox.find({}).sort({ createdAt: 1 }).limit(limit).lean<OutboxDoc[]>();
      if (docs.length === 0) return 0;
      await publish(docs.map((d) => d.event));
      await Outbox.deleteMany({ _id: { $in: docs.map((d) => d._id) } });
      return docs.length;
    },
  };
}
export type Outbox = ReturnType<typeof createOutbox>;
