import { UnrecoverableError, type Job, type Worker } from 'bullmq';
import { z } from 'zod';
import { DOMAIN_EVENTS_QUEUE, type DomainEvent } from '../../core/events/event.types.js';
import { ENTRY_TYPES, LINE_KINDS } from '../../core/ledger/ledger.types.js';
import type { Logger } from '../../infra/logger.js';
import type { QueueFactory } from '../../infra/queue.factory.js';
import type { Redis } from '../../infra/redis.js';
import type { ChatChannel, Reply } from '../../bots/flows/flow.types.js';
import type { Notification } from '../../bots/flows/flows.service.js';

export type { Notification };

/** `deliveryKey` names what is delivered (the event id), for channels that dedupe sends by it (VK's random_id). */
export type ChannelSender = (userId: string, replies: Reply[], deliveryKey?: string) => Promise<void>;
export type Senders = Partial<Record<ChatChannel, ChannelSender>>;

/** How long a delivery is remembered: longer than any retry or relay replay of the event. */
export const NOTIFIED_TTL_SECONDS = 7 * 24 * 3600;

const base = { id: z.string().min(1), at: z.string().min(1), card: z.string().min(1), memberId: z.string().nullable() };

/** The job payload, validated again here: the queue is a boundary like any other. */
export const domainEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('points.changed'),
    data: z.object({
      entryId: z.string(),
      seq: z.int().min(1),
      operation: z.enum(ENTRY_TYPES),
      role: z.enum(['referrer', 'invitee']).optional(),
      lines: z.array(z.object({ kind: z.enum(LINE_KINDS), points: z.int(), amount: z.int() })),
      amount: z.int(),
      balance: z.int(),
      shortfall: z.int(),
      spendDeltaKopecks: z.int(),
      levelFrom: z.string(),
      levelTo: z.string(),
      counters: z.object({
        purchases: z.int(),
        spentKopecks: z.int(),
        lastPurchaseAt: z.string().nullable(),
        earned: z.int(),
        redeemed: z.int(),
        expired: z.int(),
      }),
      ref: z.object({
        storeId: z.string().optional(),
        receiptId: z.string().optional(),
        refundId: z.string().optional(),
        memberId: z.string().optional(),
        reason: z.string().optional(),
        author: z.string().optional(),
        totalKopecks: z.int().optional(),
      }),
    }),
  }),
  z.object({ ...base, type: z.literal('level.changed'), data: z.object({ from: z.string(), to: z.string(), manual: z.boolean() }) }),
  z.object({
    ...base,
    type: z.literal('contest.won'),
    data: z.object({ contestId: z.string(), title: z.string(), place: z.int(), channel: z.string(), account: z.string() }),
  }),
  z.object({
    ...base,
    type: z.literal('phone.verification'),
    data: z.object({ code: z.string().regex(/^\d{6}$/), channel: z.string().min(1), account: z.string().min(1), expiresAt: z.string().min(1) }),
  }),
]) satisfies z.ZodType<DomainEvent>;

/** Fails to compile when DomainEvent gains a type this schema does not know: add its schema above. */
type UnvalidatedEventType = Exclude<DomainEvent['type'], z.infer<typeof domainEventSchema>['type']>;
export const EVERY_EVENT_TYPE_VALIDATED: [UnvalidatedEventType] extends [never] ? true : UnvalidatedEventType = true;

export interface NotifyWorkerDeps {
  queues: QueueFactory;
  flows: { notification(event: DomainEvent): Promise<Notification[]> };
  senders: Senders;
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
 */
export function startNotifyWorker(deps: NotifyWorkerDeps): { worker: Worker<DomainEvent>; close(): Promise<void> } {
  const { flows, senders, redis, logger } = deps;
  const prefix = deps.queues.prefix;

  const deliver = async (event: DomainEvent, n: Notification): Promise<'sent' | 'duplicate' | 'no-channel' | 'failed'> => {
    const send = senders[n.channel];
    if (!send) return 'no-channel';
    const identity = `${n.channel}:${n.userId}`;
    const taken = await redis.set(notifiedKey(prefix, event.id, identity), '1', 'EX', NOTIFIED_TTL_SECONDS, 'NX');
    if (taken !== 'OK') return 'duplicate';
    try {
      await send(n.userId, n.replies, event.id);
      return 'sent';
    } catch (err) {
      // Not retried (see above): a blocked bot (403) or a message Telegram refused stays undelivered.
      logger.warn({ err, eventId: event.id, identity }, 'notification not delivered');
      return 'failed';
    }
  };

  const processor = async (job: Job<DomainEvent>): Promise<{ sent: number; skipped: number }> => {
    const parsed = domainEventSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid domain event payload: ${parsed.error.message}`);
    const event: DomainEvent = parsed.data;
    const notifications = await flows.notification(event);
    let sent = 0;
    for (const n of notifications) if ((await deliver(event, n)) === 'sent') sent++;
    return { sent, skipped: notifications.length - sent };
  };

  const worker = deps.queues.worker<DomainEvent, { sent: number; skipped: number }>(DOMAIN_EVENTS_QUEUE, processor, { concurrency: deps.concurrency ?? 1 });
  worker.on('failed', (job, err) => logger.error({ err, jobId: job?.id }, 'notification job failed'));
  return { worker, close: () => worker.close() };
}
