import { UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import type { Core } from '../../core/core.js';
import type { QueueFactory } from '../../infra/queue.factory.js';
import type { Logger } from '../../infra/logger.js';

export const MAINTENANCE_QUEUE = 'maintenance';

/** Scheduled jobs: each a name, a payload schema, a schedule and a handler that calls core/. */
const definitions = {
  recover: {
    schema: z.object({}),
    everyMs: 60_000,
    handle: (core: Core) => core.recover(),
  },
  expire: {
    schema: z.object({}),
    everyMs: 60 * 60_000,
    handle: (core: Core) => core.ledger.expireDue(),
  },
  /** Contests past their published closing time are sealed then (the digest published), not whenever someone draws. */
  contests: {
    schema: z.object({}),
    everyMs: 60_000,
    handle: (core: Core) => core.contests.closeDue(),
  },
  /** Personal data that outlived its purpose: unfinished joins (a day), proofs, codes, counters, closed passes' devices. */
  privacy: {
    schema: z.object({}),
    everyMs: 60 * 60_000,
    handle: (core: Core) => core.privacy.expireStale(),
  },
} as const;
export type MaintenanceJob = keyof typeof definitions;

export async function startMaintenance(deps: { core: Core; queues: QueueFactory; logger: Logger; everyMs?: Partial<Record<MaintenanceJob, number>> }) {
  const queue = deps.queues.queue(MAINTENANCE_QUEUE);
  for (const [name, def] of Object.entries(definitions)) {
    // A job scheduler is idempotent by id: every worker process may upsert it, one runs.
    const every = deps.everyMs?.[name as MaintenanceJob] ?? def.everyMs;
    await queue.upsertJobScheduler(`schedule-${name}`, { every }, { name, data: {} });
  }
  const worker = deps.queues.worker(
    MAINTENANCE_QUEUE,
    async (job: Job) => {
      const def = definitions[job.name as MaintenanceJob] as (typeof definitions)[MaintenanceJob] | undefined;
      if (!def) throw new UnrecoverableError(`unknown maintenance job ${job.name}`);
      const parsed = def.schema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`bad payload for ${job.name}: ${parsed.error.message}`);
      const result = await def.handle(deps.core);
      deps.logger.debug({ job: job.name, result }, 'maintenance job done');
      return result;
    },
    { concurrency: 1 },
  );
  return {
    /** Runs one job now (start-up recovery, tests). */
    async runNow(name: MaintenanceJob): Promise<void> {
      await queue.add(name, {});
    },
    close: () => worker.close(),
  };
}
