import { UnrecoverableError, type Job } from 'bullmq';
import { domainEventSchema } from '../../core/events/event.schema.js';
import { DOMAIN_EVENTS_QUEUE, type DomainEvent } from '../../core/events/event.types.js';
import type { Wallet } from '../../core/wallet/wallet.service.js';
import type { Logger } from '../../infra/logger.js';
import type { QueueFactory } from '../../infra/queue.factory.js';
import type { ApnsClient } from './apns.client.js';
import { PASS_UPDATE_JOB, WALLET_UPDATES_QUEUE, passUpdateBackoff, passUpdateJobOptions, passUpdatePayload, runPassUpdate, type PassUpdatePayload, type PassUpdateResult } from './pass-update.job.js';

export const WALLET_SWEEP_QUEUE = 'wallet-sweep';

/** Events that change what a pass shows. */
const PASS_EVENTS = new Set(['points.changed', 'level.changed']);

export interface WalletWorkerDeps {
  queues: QueueFactory;
  wallet: Wallet;
  /** null: passes are refreshed but nobody is pushed (no APNS_KEY). */
  apns: ApnsClient | null;
  logger: Logger;
  /** The queue the outbox relay feeds (see the note on startWalletWorkers). */
  eventsQueue?: string;
  debounceMs: number;
  /** Passes per second refreshed and pushed by bulk changes (offers, re-skins). */
  pushRate: number;
  concurrency?: number;
  sweepEveryMs?: number;
  /** Sign each new state before pushing (needs the wallet's generator). */
  prewarm?: boolean;
  /** First delay of a pass-update job's retries (doubling after); default 1 s. */
  retryDelayMs?: number;
  /**
   * The pass message for an event that is news rather than a balance change (a contest win):
   * shown on the lock screen and kept on the back of the pass. null: nothing to show.
   */
  messageFor?: (event: DomainEvent) => Promise<string | null>;
}

export interface WalletWorkers {
  /** One sweep of dirty passes now (tests; the scheduler runs it every sweepEveryMs). */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The wallet's BullMQ processors:
 *  - domain events (points.changed, level.changed) → a debounced pass-update job per card;
 *  - pass-update jobs → refresh the pass state, push each registered device once;
 *  - a sweep every second (a BullMQ job scheduler, so one worker process runs each tick)
 *    that turns at most `pushRate` dirty passes (offers, re-skins) into pass-update jobs:
 *    a bulk change reaches every holder at a bounded rate.
 *
 * Note: BullMQ hands each job of a queue to one consumer. If another feature (notifications)
 * consumes the same events queue, the outbox relay must publish each event to one queue per
 * consumer (e.g. `domain-events` and `domain-events-wallet`); pass that name as `eventsQueue`.
 */
export function startWalletWorkers(deps: WalletWorkerDeps): WalletWorkers {
  const { queues, wallet, logger } = deps;
  const updates = queues.queue<PassUpdatePayload>(WALLET_UPDATES_QUEUE);
  const sweepQueue = queues.queue(WALLET_SWEEP_QUEUE);
  // At least one pass per sweep, so a low rate stretches the interval instead of rounding up the rate.
  const perSweep = Math.max(1, Math.floor((deps.pushRate * (deps.sweepEveryMs ?? 1000)) / 1000));
  const everyMs = Math.max(deps.sweepEveryMs ?? 1000, Math.ceil((1000 * perSweep) / deps.pushRate));

  const events = queues.worker(
    deps.eventsQueue ?? DOMAIN_EVENTS_QUEUE,
    async (job: Job) => {
      const parsed = domainEventSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid domain event payload: ${parsed.error.message}`);
      const e = parsed.data;
      const message = deps.messageFor && !PASS_EVENTS.has(e.type) ? await deps.messageFor(e) : null;
      if (message && (await wallet.passes.exists(e.card))) {
        // Mirrored as the pass's offer message; the sweep pushes it at the bounded rate.
        await wallet.setOffer({ kind: 'card', number: e.card }, message);
        return { scheduled: true };
      }
      // Cards without a pass have nothing to update: no job, no Redis traffic.
      if (!PASS_EVENTS.has(e.type) || !(await wallet.passes.exists(e.card))) return { scheduled: false };
      await updates.add(PASS_UPDATE_JOB, { serial: e.card }, passUpdateJobOptions(e.card, deps.debounceMs));
      return { scheduled: true };
    },
    { concurrency: 8 },
  );

  const updater = queues.worker<PassUpdatePayload, PassUpdateResult>(
    WALLET_UPDATES_QUEUE,
    async (job) => {
      const parsed = passUpdatePayload.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid pass-update payload: ${parsed.error.message}`);
      return runPassUpdate({ wallet, apns: deps.apns, logger, prewarm: deps.prewarm ?? false }, parsed.data);
    },
    { concurrency: deps.concurrency ?? 8, settings: { backoffStrategy: passUpdateBackoff(deps.retryDelayMs ?? 1000) } },
  );

  async function sweep(): Promise<number> {
    const dirty = await wallet.passes.takeDirty(perSweep);
    if (dirty.length === 0) return 0;
    // No delay: the bulk change is already complete; the dedup id still merges it with a pending debounce.
    await updates.addBulk(dirty.map((d) => ({ name: PASS_UPDATE_JOB, data: { serial: d.serial }, opts: passUpdateJobOptions(d.serial, 0) })));
    await wallet.passes.clearDirty(dirty);
    return dirty.length;
  }
  const sweeper = queues.worker(WALLET_SWEEP_QUEUE, async () => ({ swept: await sweep() }), { concurrency: 1 });
  const scheduled = sweepQueue.upsertJobScheduler('wallet-sweep', { every: everyMs }, { name: 'sweep', opts: { removeOnComplete: true, removeOnFail: 100 } });
  scheduled.catch((err: unknown) => logger.error({ err }, 'wallet: cannot schedule the sweep'));

  for (const w of [events, updater, sweeper]) {
    w.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, queue: w.name }, 'wallet job failed'));
  }
  return {
    sweep,
    async close() {
      await scheduled.catch(() => undefined);
      await Promise.allSettled([events.close(), updater.close(), sweeper.close()]);
    },
  };
}
