import { Schema, type Connection, type Model } from 'mongoose';
import { cardModel } from '../cards/card.model.js';
import { entryModel, type EntryDoc } from '../ledger/entry.model.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { DomainEvent } from './event.types.js';

/**
 * The outbox. Applied ledger entries are their own outbox records (`published: false` until
 * relayed), so a movement and its event are one write. Events that are not movements (a
 * level set by hand) go into `outbox_events`. The relay hands events to `publish`, which
 * must be idempotent by event id (BullMQ jobId), then marks them published: a crash in
 * between publishes again and the jobId drops the duplicate.
 */
interface OutboxDoc {
  _id: string;
  event: DomainEvent;
  published: boolean;
  createdAt: Date;
}
const outboxSchema = new Schema<OutboxDoc>(
  { _id: String, event: Schema.Types.Mixed, published: { type: Boolean, default: false }, createdAt: Date },
  { collection: 'outbox_events', versionKey: false },
);
outboxSchema.index({ published: 1, createdAt: 1 });

export function entryEvents(e: EntryDoc, memberId: string | null): DomainEvent[] {
  const at = (e.appliedAt ?? e.createdAt).toISOString();
  const id = e._id;
  const events: DomainEvent[] = [];
  if (!e.result) return events;
  events.push({
    id: `entry:${id}`,
    type: 'points.changed',
    at,
    card: e.card,
    memberId,
    data: { entryId: id, entryType: e.type, amount: e.amount, balance: e.result.balanceAfter, shortfall: e.result.shortfall, ref: { ...e.ref } },
  });
  if (e.result.levelFrom !== e.result.levelTo) {
    events.push({ id: `level:${id}`, type: 'level.changed', at, card: e.card, memberId, data: { from: e.result.levelFrom, to: e.result.levelTo, manual: false } });
  }
  return events;
}

export function createOutbox(deps: { conn: Connection; clock?: Clock }) {
  const Outbox = (deps.conn.models.OutboxEvent as Model<OutboxDoc> | undefined) ?? deps.conn.model<OutboxDoc>('OutboxEvent', outboxSchema);
  const Entries = entryModel(deps.conn);
  const Cards = cardModel(deps.conn);
  const clock = deps.clock ?? systemClock;
  return {
    async init(): Promise<void> {
      await Outbox.createIndexes();
    },
    async add(event: DomainEvent): Promise<void> {
      await Outbox.updateOne({ _id: event.id }, { $setOnInsert: { event, published: false, createdAt: clock.now() } }, { upsert: true });
    },
    /** One relay pass: publishes up to `limit` events, returns how many. */
    async relayOnce(publish: (events: DomainEvent[]) => Promise<void>, limit = 500): Promise<number> {
      const entries = await Entries.find({ published: false, status: 'applied' }).sort({ appliedAt: 1 }).limit(limit).lean<EntryDoc[]>();
      const others = await Outbox.find({ published: false }).sort({ createdAt: 1 }).limit(limit).lean<OutboxDoc[]>();
      if (entries.length === 0 && others.length === 0) return 0;
      const cardIds = [...new Set(entries.map((e) => e.card))];
      const owners = new Map(
        (await Cards.find({ _id: { $in: cardIds } }, { memberId: 1 }).lean<{ _id: string; memberId: string | null }[]>()).map((c) => [c._id, c.memberId]),
      );
      const events = [...entries.flatMap((e) => entryEvents(e, owners.get(e.card) ?? null)), ...others.map((o) => o.event)];
      await publish(events);
      await Promise.all([
        entries.length ? Entries.updateMany({ _id: { $in: entries.map((e) => e._id) } }, { $set: { published: true } }) : null,
        others.length ? Outbox.updateMany({ _id: { $in: others.map((o) => o._id) } }, { $set: { published: true } }) : null,
      ]);
      return events.length;
    },
  };
}
export type Outbox = ReturnType<typeof createOutbox>;
