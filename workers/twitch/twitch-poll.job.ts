import type { TwitchGiveaway } from '../../core/twitch/twitch-giveaway.service.js';
import type { Logger } from '../../infra/logger.js';
import type { QueueFactory } from '../../infra/queue.factory.js';

export const TWITCH_QUEUE = 'twitch-giveaway';
export const TWITCH_POLL_JOB = 'poll';

/**
 * The giveaway's poll as a BullMQ job scheduler: one `poll` every `everyMs`, whichever worker
 * process takes it (the scheduler is idempotent by id, so each process may upsert it), one at a
 * time (concurrency 1). The job is one core call; a failed round is logged and the next tick
 * tries again (the giveaway itself is exactly-once per redemption).
 */
export async function startTwitchPoll(deps: { queues: QueueFactory; giveaway: TwitchGiveaway; everyMs: number; logger: Logger }): Promise<{ close(): Promise<void> }> {
  const queue = deps.queues.queue(TWITCH_QUEUE);
  await queue.upsertJobScheduler('twitch-poll', { every: deps.everyMs }, { name: TWITCH_POLL_JOB, data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } });
  const worker = deps.queues.worker(TWITCH_QUEUE, async () => deps.giveaway.pollOnce(), { concurrency: 1 });
  worker.on('failed', (job, err) => deps.logger.error({ err, jobId: job?.id }, 'twitch poll failed'));
  return { close: () => worker.close() };
}

/** Twitch is off in this deployment: a schedule left by an earlier start stops adding polls. */
export async function removeTwitchPoll(queues: QueueFactory): Promise<void> {
  await queues.queue(TWITCH_QUEUE).removeJobScheduler('twitch-poll');
}
