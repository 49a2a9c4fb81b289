import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { PlanWork } from '../../core/broadcasts/broadcast.plan.js';
import type { BroadcastJobs } from '../../core/broadcasts/broadcast.service.js';
import type { QueueFactory } from '../../infra/queue.factory.js';

/**
 * The broadcast queues, apart from the notifications' (workers/notifications): a running
 * broadcast never holds up a points notice or a code. One queue per channel so each has its
 * own global rate limiter.
 */
export const BROADCAST_QUEUES = {
  plan: 'broadcast-plan',
  telegram: 'broadcast-telegram',
  vk: 'broadcast-vk',
  wallet: 'broadcast-wallet',
  tick: 'broadcast-tick',
} as const;

export const planJob = z.object({ id: z.string().regex(/^[0-9a-f]{24}$/) });
export const oneDelivery = z.object({ id: z.string().min(1).max(200) });
export const deliveryBatch = z.object({ ids: z.array(z.string().min(1).max(200)).min(1).max(1000) });

// BullMQ job ids may not contain ':' (delivery ids do); '.' stands for it.
export const jobIdOf = (deliveryId: string): string => deliveryId.replaceAll(':', '.');
/** A batch's job id: the same deliveries handed over again are the same job. */
export const batchJobId = (channel: string, ids: string[]): string => `${channel}.${createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 32)}`;

/** Runs of a send job: a server error (Telegram's 5xx) is tried again this many times in all, then counted failed. */
export const SEND_ATTEMPTS = 5;
/** The send workers' backoff strategy (broadcast.worker.ts): the pause after a server error, doubling. */
export const SEND_BACKOFF = 'broadcast-send';

/**
 * Finished send jobs go at once, failed ones too: BullMQ ignores a job added under the id of one
 * it keeps, and the planner hands a delivery still queued (a resume, the tick, the sweep) over
 * again under the same job id. A failure is in the worker's log (`broadcast job failed`).
 */
const SEND_JOB = { removeOnComplete: true, removeOnFail: true, attempts: SEND_ATTEMPTS, backoff: { type: SEND_BACKOFF } };

/** Hands planned work to the channel queues; the job ids make a repeated hand-over a no-op while a job waits. */
export function enqueueWork(queues: QueueFactory, work: PlanWork): Promise<unknown> {
  return Promise.all([
    work.telegram.length ? queues.queue(BROADCAST_QUEUES.telegram).addBulk(work.telegram.map((id) => ({ name: 'send', data: { id }, opts: { ...SEND_JOB, jobId: jobIdOf(id) } }))) : null,
    work.vk.length ? queues.queue(BROADCAST_QUEUES.vk).addBulk(work.vk.map((ids) => ({ name: 'send', data: { ids }, opts: { ...SEND_JOB, jobId: batchJobId('vk', ids) } }))) : null,
    work.wallet.length ? queues.queue(BROADCAST_QUEUES.wallet).addBulk(work.wallet.map((ids) => ({ name: 'offer', data: { ids }, opts: { ...SEND_JOB, jobId: batchJobId('wallet', ids) } }))) : null,
  ]);
}

/**
 * The core's port onto the plan queue (the API role and the CLI create broadcasts through it).
 * A wait is cut to `maxDelayMs` (BROADCAST_RECHECK_MS): the job then looks again, so a changed
 * schedule, quiet hours or clock is seen within that time.
 */
export function broadcastJobsClient(queues: QueueFactory, maxDelayMs: number): BroadcastJobs {
  return {
    async plan(id, delayMs = 0) {
      await queues.queue(BROADCAST_QUEUES.plan).add('plan', { id }, { jobId: `plan.${id}`, delay: Math.min(maxDelayMs, Math.max(0, delayMs)), removeOnComplete: true, removeOnFail: 1000, attempts: 5, backoff: { type: 'exponential', delay: 2000 } });
    },
  };
}
