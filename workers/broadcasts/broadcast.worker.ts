import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Core } from '../../core/core.js';
import { vkRandomId } from '../../core/broadcasts/broadcast.rules.js';
import { walletOffer } from '../../core/broadcasts/broadcast.render.js';
import type { BroadcastDoc } from '../../core/broadcasts/broadcast.model.js';
import type { DeliveryDoc } from '../../core/broadcasts/delivery.model.js';
import type { SenderJobs } from '../../core/broadcasts/broadcast.service.js';
import { INTERRUPTED, type BroadcastChannel, type DeliveryOutcome } from '../../core/broadcasts/broadcast.types.js';
import type { Wallet } from '../../core/wallet/wallet.service.js';
import type { BroadcastMessage, BroadcastSenders } from '../../infra/broadcast-delivery.js';
import type { Logger } from '../../infra/logger.js';
import type { QueueFactory } from '../../infra/queue.factory.js';
import type { Redis } from '../../infra/redis.js';
import { BROADCAST_QUEUES, SEND_BACKOFF, broadcastJobsClient, deliveryBatch, enqueueWork, oneDelivery, planJob } from './broadcast.queues.js';

export interface BroadcastWorkerOptions {
  /** Telegram messages per second, all workers together (BullMQ's global limiter); default 25. */
  telegramRate: number;
  /** VK messages.send calls per second, all workers together; default 20. */
  vkRate: number;
  /** A job whose worker stopped answering is taken over after this long (BullMQ's lock and stall check). */
  stallMs: number;
  /** The longest a job waits before looking again (quiet hours, scheduled time, paused). */
  recheckMs: number;
  /** Audience members planned per page. */
  pageSize: number;
  /** How often the sweep and the automations run (ms). */
  tickMs: number;
  /**
   * A delivery `sending` this long whose job BullMQ no longer holds is settled by the tick
   * (core broadcasts.sweep). Well above `stallMs`: within about two stall checks BullMQ has either
   * run the job again (which settles the delivery itself) or given up on it, and a slow send
   * (a long HTTP timeout) is never taken for a dead one.
   */
  stuckMs: number;
  /** The pause before a send job's second run after a server error, doubled for each later run (SEND_ATTEMPTS in all). */
  retryMs: number;
}

export const DEFAULT_BROADCAST_OPTIONS: BroadcastWorkerOptions = { telegramRate: 25, vkRate: 20, stallMs: 30_000, recheckMs: 60_000, pageSize: 1000, tickMs: 5000, stuckMs: 300_000, retryMs: 3000 };

/** A job in these states will not run again: whatever delivery it holds is nobody's. */
const GONE = new Set(['completed', 'failed', 'unknown']);
/** Automations run once an hour (the sweep runs every tick). */
const AUTOMATIONS_EVERY_MS = 3_600_000;

/**
 * BullMQ's limiter counts fixed windows: `rate` per 1,000 ms lets two windows' worth through
 * within a second at their boundary (50 for 25/s, and Telegram refuses past 30). One job per
 * 1000/rate ms keeps any second at rate + 1 at most.
 */
function evenly(rate: number): { max: number; duration: number } {
  return { max: 1, duration: Math.max(1, Math.floor(1000 / rate)) };
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }, data: unknown): T {
  const r = schema.safeParse(data);
  if (!r.success) throw new UnrecoverableError(`invalid broadcast job: ${r.error.message}`);
  return r.data;
}

const messageOf = (core: Core, b: BroadcastDoc, lang: DeliveryDoc['lang']): BroadcastMessage => ({ broadcastId: b._id, text: core.broadcasts.textFor(b, lang), button: b.button, lang });

/**
 * The broadcast workers: planning (a page of the audience at a time), Telegram (one message a
 * job under a global rate limiter), VK (≤ 100 peers a call under its own limiter), Wallet
 * (offers set on passes, pushed by the wallet worker at its bulk rate), and a tick that settles
 * deliveries a dead worker left `sending`, hands active broadcasts to the planner, and hourly
 * prunes old frequency-cap records and runs the automations.
 *
 * Never twice: each delivery is claimed (queued → sending under the job's id) before it is
 * sent, by one conditional update on MongoDB or a unique insert on FerretDB (core/broadcasts/
 * delivery-gate.repository.ts). A job that finds its own claim on a delivery ran before and died
 * mid-send: for Telegram, which has no idempotency key, it is counted failed ("interrupted"),
 * never sent again; VK (random_id) and Wallet (state) simply send again. A server error is
 * tried again by BullMQ (SEND_ATTEMPTS, backoff `retryMs`), the delivery given back meanwhile;
 * on the last attempt it is counted failed.
 * Never waits inside a job: a 429 pauses the whole queue (worker.rateLimit + RateLimitError),
 * quiet hours and schedules put the job back (moveToDelayed).
 */
export async function startBroadcastWorkers(deps: { core: Core; queues: QueueFactory; redis: Redis; senders: BroadcastSenders; wallet: Wallet | null; logger: Logger; options?: Partial<BroadcastWorkerOptions> }) {
  const { core, queues, senders, logger } = deps;
  const o = { ...DEFAULT_BROADCAST_OPTIONS, ...deps.options };
  const log = logger.child({ role: 'broadcasts' });
  const broadcasts = core.broadcasts;
  broadcasts.useJobs(broadcastJobsClient(queues, o.recheckMs));
  const lock = { lockDuration: o.stallMs, stalledInterval: o.stallMs };
  // Send jobs' retries (SEND_JOB): 3, 6, 12, 24 s with the default retryMs, about 45 s for a server to come back.
  const retries = { settings: { backoffStrategy: (attemptsMade: number, type?: string) => (type === SEND_BACKOFF ? o.retryMs * 2 ** Math.max(0, attemptsMade - 1) : 0) } };

  async function later(job: Job, token: string | undefined, ms: number): Promise<never> {
    if (!token) throw new Error('no job token');
    await job.moveToDelayed(Date.now() + Math.max(1, Math.min(ms, o.recheckMs)), token);
    throw new DelayedError();
  }

  const plan = queues.worker(
    BROADCAST_QUEUES.plan,
    async (job: Job, token?: string) => {
      const { id } = parse(planJob, job.data);
      for (;;) {
        const step = await broadcasts.planStep(id, o.pageSize);
        if (step.kind === 'none') return;
        if (step.kind === 'wait') return later(job, token, step.ms);
        if (step.kind === 'requeue') {
          for await (const work of step.pages) await enqueueWork(queues, work);
          return;
        }
        await enqueueWork(queues, step.work);
        await step.commit();
        await job.updateProgress({ planned: true });
        if (step.done) return;
      }
    },
    { concurrency: 2, ...lock },
  );

  const telegramQueue = queues.queue(BROADCAST_QUEUES.telegram);
  const pauseKey = `${queues.prefix}:${BROADCAST_QUEUES.telegram}:paused`;
  const telegram = queues.worker(
    BROADCAST_QUEUES.telegram,
    async (job: Job, token?: string) => {
      const { id } = parse(oneDelivery, job.data);
      const claim = job.id ?? id;
      const c = await broadcasts.claim(id, claim);
      if (c.kind === 'none') return;
      if (c.kind === 'wait') return later(job, token, c.ms);
      if (c.kind === 'interrupted') {
        // The crash window: this job's previous run took the delivery and never said how it went.
        await broadcasts.finish(c.delivery, claim, 'failed', INTERRUPTED, true);
        return;
      }
      const send = senders.telegram;
      if (!send) {
        await broadcasts.finish(c.delivery, claim, 'failed', 'telegram is not configured in the worker');
        return;
      }
      // Jobs already running when a 429 came must not send either: the pause is shared through Redis.
      const paused = await deps.redis.pttl(pauseKey);
      if (paused > 0) {
        await broadcasts.release(c.delivery, claim);
        await telegramQueue.rateLimit(paused);
        throw Worker.RateLimitError();
      }
      const r = await send(c.delivery.to, messageOf(core, c.broadcast, c.delivery.lang));
      // A server error on the job's last attempt: counted failed (it holds the delivery still).
      const last = r.status === 'retry' && !r.global && job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (r.status !== 'retry' || last) {
        await broadcasts.finish(c.delivery, claim, r.status === 'retry' ? 'failed' : r.status, r.status === 'sent' ? null : r.reason);
        return;
      }
      await broadcasts.release(c.delivery, claim);
      if (r.global) {
        // Telegram throttles the bot: every worker of this queue pauses, nothing waits in a job.
        log.warn({ retryAfterMs: r.afterMs }, 'telegram: 429, pausing broadcast sends');
        await deps.redis.set(pauseKey, '1', 'PX', r.afterMs);
        await telegramQueue.rateLimit(r.afterMs);
        throw Worker.RateLimitError();
      }
      // BullMQ runs the job again after the send backoff (SEND_JOB); the delivery waits queued.
      throw new Error(`telegram: ${r.reason}`);
    },
    { concurrency: Math.max(1, Math.min(20, o.telegramRate)), limiter: evenly(o.telegramRate), ...lock, ...retries },
  );

  const vk = queues.worker(
    BROADCAST_QUEUES.vk,
    async (job: Job, token?: string) => {
      const { ids } = parse(deliveryBatch, job.data);
      const claim = job.id ?? ids[0] ?? 'vk';
      const c = await broadcasts.claimBatch(ids, claim, o.stuckMs);
      if (c.kind === 'none') return;
      if (c.kind === 'wait') return later(job, token, c.ms);
      const b = c.broadcast;
      const send = senders.vk;
      if (!send) {
        await broadcasts.finishBatch(b._id, 'vk', claim, c.deliveries.map((d) => ({ d, outcome: 'failed', reason: 'vk is not configured in the worker' })));
        return;
      }
      const lang = c.deliveries[0]?.lang ?? 'ru';
      const r = await send(c.deliveries.map((d) => d.to), messageOf(core, b, lang), vkRandomId(b._id));
      if (!(r instanceof Map)) {
        await broadcasts.releaseBatch(c.deliveries, claim);
        await queues.queue(BROADCAST_QUEUES.vk).rateLimit(r.afterMs);
        throw Worker.RateLimitError();
      }
      const outcomes = c.deliveries.map((d) => {
        const one = r.get(d.to) ?? { status: 'failed' as const, reason: 'no answer for this peer' };
        const outcome: DeliveryOutcome = one.status === 'retry' ? 'failed' : one.status;
        return { d, outcome, reason: one.status === 'sent' ? null : one.reason };
      });
      await broadcasts.finishBatch(b._id, 'vk', claim, outcomes);
    },
    { concurrency: Math.max(1, Math.min(10, o.vkRate)), limiter: evenly(o.vkRate), ...lock, ...retries },
  );

  const wallet = queues.worker(
    BROADCAST_QUEUES.wallet,
    async (job: Job, token?: string) => {
      const { ids } = parse(deliveryBatch, job.data);
      const claim = job.id ?? ids[0] ?? 'wallet';
      const c = await broadcasts.claimBatch(ids, claim, o.stuckMs);
      if (c.kind === 'none') return;
      if (c.kind === 'wait') return later(job, token, c.ms);
      const b = c.broadcast;
      if (!deps.wallet) {
        await broadcasts.finishBatch(b._id, 'wallet', claim, c.deliveries.map((d) => ({ d, outcome: 'failed', reason: 'wallet is not configured in the worker' })));
        return;
      }
      // The pass shows the text on its back and, through the field's change message, on the lock screen.
      await deps.wallet.setOffer({ kind: 'cards', numbers: c.deliveries.map((d) => d.to) }, walletOffer(broadcasts.textFor(b, c.deliveries[0]?.lang ?? 'ru')));
      await broadcasts.finishBatch(b._id, 'wallet', claim, c.deliveries.map((d) => ({ d, outcome: 'sent', reason: null })));
    },
    { concurrency: 1, ...lock, ...retries },
  );

  // The sweep's view of the send queues: which claims (job ids) a job still holds.
  const sendQueues: Record<BroadcastChannel, ReturnType<typeof queues.queue>> = { telegram: telegramQueue, vk: queues.queue(BROADCAST_QUEUES.vk), wallet: queues.queue(BROADCAST_QUEUES.wallet) };
  const senderJobs: SenderJobs = {
    async held(channel, claims) {
      const states = await Promise.all(claims.map(async (c) => ({ c, state: await sendQueues[channel].getJobState(c) })));
      return new Set(states.filter((s) => !GONE.has(s.state)).map((s) => s.c));
    },
    async drop(channel, claims) {
      for (const c of claims) {
        const state = await sendQueues[channel].getJobState(c);
        if (state === 'completed' || state === 'failed') await sendQueues[channel].remove(c);
      }
    },
  };

  // The tick: deliveries whose job BullMQ gave up on are settled, broadcasts created where no
  // queue was at hand (an API process without Redis, a crash between insert and hand-over) are
  // handed to the planner; cap records past their window are pruned and automations run hourly.
  let lastAutomations = 0;
  const tickQueue = queues.queue(BROADCAST_QUEUES.tick);
  await tickQueue.upsertJobScheduler('broadcast-tick', { every: o.tickMs }, { name: 'tick', data: {} });
  const jobs = broadcastJobsClient(queues, o.recheckMs);
  const tick = queues.worker(
    BROADCAST_QUEUES.tick,
    async () => {
      for (const id of await broadcasts.active()) {
        const swept = await broadcasts.sweep(id, senderJobs, o.stuckMs);
        if (swept.failed + swept.released > 0) log.warn({ broadcastId: id, ...swept }, 'deliveries left sending by a dead worker were settled');
        // Counters a dead worker left behind are recounted; then the planner takes the rest. Only
        // once nothing has moved for a stall interval: both read the broadcast's deliveries.
        if ((await broadcasts.stalled(id, o.stallMs)) && !(await broadcasts.reconcile(id))) await jobs.plan(id);
      }
      const pruned = await broadcasts.pruneCaps();
      if (pruned) log.info({ pruned }, 'frequency-cap records past the window deleted');
      if (Date.now() - lastAutomations >= AUTOMATIONS_EVERY_MS) {
        lastAutomations = Date.now();
        const started = await broadcasts.automations.run();
        if (started.length) log.info({ started: started.length }, 'automations started broadcasts');
      }
    },
    { concurrency: 1 },
  );

  for (const w of [plan, telegram, vk, wallet, tick]) {
    w.on('failed', (job, err) => log.error({ err, jobId: job?.id, queue: w.name }, 'broadcast job failed'));
  }
  return {
    workers: { plan, telegram, vk, wallet, tick },
    async close(): Promise<void> {
      await Promise.allSettled([plan, telegram, vk, wallet, tick].map((w) => w.close()));
    },
  };
}
