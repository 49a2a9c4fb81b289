import type { DomainEvent, EventSink } from '../../core/events/event.types.js';

/**
 * The event sink a test core writes to: it records every event handed over, and forwards them
 * to whatever the test attaches (e.g. a BullMQ queue through createQueueEventSink).
 */
export interface RecordingSink {
  sink: EventSink;
  /** Everything handed over so far, oldest first. */
  published: DomainEvent[];
  /** Removes and returns what was handed over (for one card, when given). */
  take(card?: string): DomainEvent[];
  attach(target: EventSink): () => void;
}

export function recordingSink(): RecordingSink {
  const published: DomainEvent[] = [];
  const targets = new Set<EventSink>();
  return {
    published,
    sink: {
      async publish(events) {
        published.push(...events);
        for (const t of targets) await t.publish(events);
      },
    },
    take(card) {
      const out = published.filter((e) => card === undefined || e.card === card);
      const keep = published.filter((e) => !out.includes(e));
      published.splice(0, published.length, ...keep);
      return out;
    },
    attach(target) {
      targets.add(target);
      return () => targets.delete(target);
    },
  };
}
