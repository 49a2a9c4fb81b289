import { UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import type { Core } from '../../core/core.js';
import { INSIGHT_EVENTS_QUEUE } from '../../core/events/event.types.js';
import type { InsightJobs } from '../../core/insight/insight.jobs.js';
import type { Logger } from '../../infra/logger.js';
import type { QueueFactory } from '../../infra/queue.factory.js';

export const INSIGHT_QUEUE = 'insight';

/** Jobs: name + payload schema + one core call each. */
const definitions = {
  import: { schema: z.object({ importId: z.string().regex(/^[a-f0-9]{24}$/) }), handle: (core: Core, p: { importId: string }) => core.insight.imports.run(p.importId) },
  audience: { schema: z.object({}), handle: (core: Core) => core.insight.segments.rebuild() },
  // The reports' figures on a large base: roll-up of the days and the member counts.
  rollup: {
    schema: z.object({}),
    handle: async (core: Core) => {
      await core.insight.daily.rollup();
      await core.insight.counts.recount();
    },
  },
} as const;
type JobName = keyof typeof definitions;

/** The producer side, for the API: the job id makes a repeated request for the same import one job. */
export function insightJobsClient(queues: QueueFactory): InsightJobs {
  const queue = queues.queue(INSIGHT_QUEUE, { attempts: 3, backoff: { type: 'exponential', delay: 5000 } });
  return {
    async enqueueImport(importId) {
      await queue.add('import', { importId }, { jobId: `import-${importId}` });
    },
    async enqueueAudience() {
      await queue.add('audience', {});
    },
  };
}

/**
 * The worker side: imports, the audience pass (nightly at 03:00 shop time, and on demand),
 * the roll-up of daily stats and the member counts (every 5 minutes), and the consumer of domain events that keeps
 * member counters and daily facts (each step idempotent: a job run twice changes nothing).
 */
export async function startInsightWorkers(deps: { core: Core; queues: QueueFactory; logger: Logger }) {
  const queue = deps.queues.queue(INSIGHT_QUEUE);
  await queue.upsertJobScheduler('schedule-audience', { pattern: '0 3 * * *', tz: deps.core.insight.timeZone }, { name: 'audience', data: {} });
  await queue.upsertJobScheduler('schedule-rollup', { every: 5 * 60_000 }, { name: 'rollup', data: {} });
  const jobs = deps.queues.worker(
    INSIGHT_QUEUE,
    async (job: Job) => {
      const def = definitions[job.name as JobName] as (typeof definitions)[JobName] | undefined;
      if (!def) throw new UnrecoverableError(`unknown insight job ${job.name}`);
      const parsed = def.schema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`bad payload for ${job.name}: ${parsed.error.message}`);
      await def.handle(deps.core, parsed.data as { importId: string });
      deps.logger.debug({ job: job.name }, 'insight job done');
    },
    // One at a time: an import and the audience pass are long, and share the database.
    { concurrency: 1, lockDuration: 120_000 },
  );
  const events = deps.queues.worker(INSIGHT_EVENTS_QUEUE, async (job: Job) => {
    await deps.core.insight.consumer.handle(job.data);
  });
  return {
    async close(): Promise<void> {
      await Promise.all([jobs.close(), events.close()]);
    },
  };
}
