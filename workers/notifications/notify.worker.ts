import { DelayedError, UnrecoverableError, type Job, type Worker } from 'bullmq';
import { domainEventSchema } from '../../core/events/event.schema.js';
import { DOMAIN_EVENTS_QUEUE, type DomainEvent } from '../../core/events/event.types.js';
import { DeliveryDeferred, type ChannelSender } from '../../infra/delivery.js';
import type { Logger } from '../../infra/logger.js';
import type { QueueFactory } from '../../infra/queue.factory.js';
import type { Redis } from '../../infra/redis.js';

/** One chat to tell, and what to send there (the channels' own message type). */
export interface Notification<M> {
  channel: string;
  userId: string;
  replies: M;
}

/** How long a delivery is remembered: longer than any retry or relay replay of the event. */
export const NOTIFIED_TTL_SECONDS = 7 * 24 * 3600;
/** A chat still flooded after this many put-backs of the job is given up for this event. */
const MAX_DEFERRALS = 8;
/** The longest a job is put back at once, whatever a channel asks. */
const MAX_DEFER_MS = 5 * 60_000;

export interface NotifyWorkerDeps<M> {
  queues: QueueFactory;
  /** The chat channels' rendering: who is told is the core's answer (core.notifications), the words the flows'. */
  flows: { notification(event: DomainEvent): Promise<Notification<M>[]> };
  senders: Partial<Record<string, ChannelSender<M>>>;
  /** A command connection (not the worker's blocking one) for the delivery guards. */
  redis: Redis;
  logger: Logger;
  /**
   * Jobs at a time; default 1, so a member's notices arrive in the order the ledger applied
   * them (a purchase paying with points: "−100 …, balance 900" before "+177 …, balance 1 077").
   */
  concurrency?: number;
}

/** Redis key guarding one delivery; under the deployment's queue prefix so deployments sharing a Redis stay apart. */
export function notifiedKey(prefix: string, eventId: string, identity: string): string {
  return `${prefix}:notified:${eventId}:${identity}`;
}

/**
 * Turns domain events into bot messages: each event → flows.notification(event) → each
 * Notification through the sender of its channel.
 *
 * At most once per event and identity. The guard `SET notified:<eventId>:<identity> 1 NX EX
 * 7d` is taken BEFORE sending: a job retried, or an event relayed twice (the relay's jobId
 * already drops most duplicates), finds the key and sends nothing. The price is deliberate:
 * a crash (or a send that fails) after the SET loses that one notice rather than sending it
 * twice: a member told twice "+177 points" would think they got them twice, one notice
 * missing costs nothing (the balance is in the bot and the wallet).
 *
 * Never waits inside a job: the worker runs one job at a time (order per member), so a wait
 * for one flooded chat would hold up every notice behind it. A sender that is told "not now"
 * (DeliveryDeferred) gives its guard back, and the job is put back into the queue with that
 * delay (BullMQ's moveToDelayed); the next jobs go out meanwhile, and on its return the chats
 * already served find their guards and are skipped.
 */
export function startNotifyWorker<M>(deps: NotifyWorkerDeps<M>): { worker: Worker<DomainEvent>; close(): Promise<void> } {
  const { flows, senders, redis, logger } = deps;
  const prefix = deps.queues.prefix;

  type Delivery = 'sent' | 'duplicate' | 'no-channel' | 'failed' | { deferMs: number };

  const deliver = async (event: DomainEvent, n: Notification<M>, deferrals: number): Promise<Delivery> => {
    const send = senders[n.channel];
    if (!send) return 'no-channel';
    const identity = `${n.channel}:${n.userId}`;
    const key = notifiedKey(prefix, event.id, identity);
    const taken = await redis.set(key, '1', 'EX', NOTIFIED_TTL_SECONDS, 'NX');
    if (taken !== 'OK') return 'duplicate';
    try {
      await send(n.userId, n.replies, event.id);
      return 'sent';
    } catch (err) {
      if (err instanceof DeliveryDeferred && deferrals < MAX_DEFERRALS) {
        // Nothing reached the chat: the guard goes back, so the job's next run sends it.
        await redis.del(key);
        return { deferMs: Math.min(MAX_DEFER_MS, Math.max(1, err.retryAfterMs)) };
      }
      // Not retried (see above): a blocked bot (403) or a message the channel refused stays undelivered.
      logger.warn({ err, eventId: event.id, identity }, 'notification not delivered');
      return 'failed';
    }
  };

  const processor = async (job: Job<DomainEvent>, token?: string): Promise<{ sent: number; skipped: number }> => {
    const parsed = domainEventSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid domain event payload: ${parsed.error.message}`);
    const event: DomainEvent = parsed.data;
    const notifications = await flows.notification(event);
    // Runs of this job so far that ended in a put-back (the first run is not one).
    const deferrals = Math.max(0, job.attemptsStarted - 1 - job.attemptsMade);
    let sent = 0;
    let deferMs = 0;
    for (const n of notifications) {
      const r = await deliver(event, n, deferrals);
      if (r === 'sent') sent++;
      else if (typeof r === 'object') deferMs = Math.max(deferMs, r.deferMs);
    }
    if (deferMs > 0 && token) {
      logger.info({ eventId: event.id, deferMs, deferrals: deferrals + 1 }, 'notification put back: a chat asked to wait');
      await job.moveToDelayed(Date.now() + deferMs, token);
      throw new DelayedError();
    }
    return { sent, skipped: notifications.length - sent };
  };

  const worker = deps.queues.worker<DomainEvent, { sent: number; skipped: number }>(DOMAIN_EVENTS_QUEUE, processor, { concurrency: deps.concurrency ?? 1 });
  worker.on('failed', (job, err) => logger.error({ err, jobId: job?.id }, 'notification job failed'));
  return { worker, close: () => worker.close() };
}
