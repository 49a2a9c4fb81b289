import type { Queue } from 'bullmq';
import { jobIdFor, type DomainEvent, type EventSink } from '../core/events/event.types.js';

/**
 * Hands domain events to BullMQ, one queue per consumer (notifications, the wallet, insight):
 * BullMQ gives a job to one worker only. The job id is the event id, so handing an event over
 * twice (a crash between hand-over and record, a fold repeated by another process) adds
 * nothing.
 *
 * Events handed over in the same turn of the event loop (many tills at once) go out in one
 * `addBulk` per queue: under load a Redis round trip serves many purchases instead of one.
 * Each caller's promise settles when the batch holding its events was accepted (or failed).
 */
export function createQueueEventSink(queues: Queue<DomainEvent>[]): EventSink {
  let pending: { events: DomainEvent[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = pending;
    pending = [];
    const events = batch.flatMap((b) => b.events);
    try {
      await Promise.all(queues.map((q) => q.addBulk(events.map((e) => ({ name: e.type, data: e, opts: { jobId: jobIdFor(e.id) } })))));
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }

  return {
    publish(events: DomainEvent[]): Promise<void> {
      if (events.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        pending.push({ events, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}
