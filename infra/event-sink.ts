import type { Queue } from 'bullmq';
import { jobIdFor, type DomainEvent, type EventSink } from '../core/events/event.types.js';

/**
 * Hands domain events to BullMQ, one queue per consumer (notifications, the wallet…): BullMQ
 * gives a job to one worker only. The job id is the event id, so handing an event over twice
 * (a crash between hand-over and record, a fold repeated by another process) adds nothing.
 */
export function createQueueEventSink(queues: Queue<DomainEvent>[]): EventSink {
  return {
    async publish(events: DomainEvent[]): Promise<void> {
      if (events.length === 0) return;
      await Promise.all(queues.map((q) => q.addBulk(events.map((e) => ({ name: e.type, data: e, opts: { jobId: jobIdFor(e.id) } })))));
    },
  };
}
