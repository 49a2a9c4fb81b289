import type { Queue } from 'bullmq';
import { DOMAIN_EVENTS_QUEUE, type DomainEvent } from '../core/events/event.types.js';
import type { Runtime } from '../infra/runtime.js';
import type { RoleHandle } from '../api/api.role.js';
import { startMaintenance } from './maintenance/maintenance.jobs.js';
import { startOutboxRelay } from './outbox/outbox-relay.worker.js';

export interface WorkerExtras {
  /** Processors a channel adds (notifications per channel), started with the role. */
  processors?: { name: string; close(): Promise<void> }[];
}

/**
 * The `worker` role: the outbox relay (domain events → BullMQ), scheduled maintenance
 * (recovery pass every minute and once at start, point expiry hourly), and the processors
 * channels register (notifications).
 */
export async function startWorkers(rt: Runtime, extras: WorkerExtras = {}): Promise<RoleHandle> {
  const queue: Queue<DomainEvent> = rt.queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE);
  const relay = startOutboxRelay({ outbox: rt.core.outbox, queue, logger: rt.logger });
  const maintenance = await startMaintenance({ core: rt.core, queues: rt.queues, logger: rt.logger });
  // Finish whatever a previous crash left half-done, without waiting for the first schedule.
  await maintenance.runNow('recover');
  const processors = extras.processors ?? [];
  return {
    summary: [`Workers: outbox relay, maintenance (recovery, expiry)${processors.length ? `, ${processors.map((p) => p.name).join(', ')}` : ''}; queue prefix "${rt.config.queuePrefix}"`],
    async close() {
      await relay.close();
      await Promise.allSettled(processors.map((p) => p.close()));
      await maintenance.close();
    },
  };
}
