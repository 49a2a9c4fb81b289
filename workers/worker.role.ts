import type { Queue } from 'bullmq';
import { DOMAIN_EVENTS_QUEUE, WALLET_EVENTS_QUEUE, type DomainEvent } from '../core/events/event.types.js';
import { createApnsClient } from './wallet/apns.client.js';
import { startWalletWorkers } from './wallet/wallet.worker.js';
import type { Runtime } from '../infra/runtime.js';
import type { RoleHandle } from '../api/api.role.js';
import type { Channels } from '../bots/channels.js';
import { startMaintenance } from './maintenance/maintenance.jobs.js';
import { startNotifyWorker } from './notifications/notify.worker.js';
import { startOutboxRelay } from './outbox/outbox-relay.worker.js';
import { INSIGHT_EVENTS_QUEUE, startInsightWorkers } from './insight/insight.jobs.js';

export interface WorkerExtras {
  /** The chat channels' flows and senders: notifications are rendered and delivered with them. */
  channels?: Pick<Channels, 'flows' | 'senders' | 'i18n'>;
}

/**
 * The `worker` role: the outbox relay (domain events → BullMQ), scheduled maintenance
 * (recovery pass every minute and once at start, point expiry hourly), and the processors
 * channels register (notifications).
 */
export async function startWorkers(rt: Runtime, extras: WorkerExtras = {}): Promise<RoleHandle> {
  // A failed delivery (e.g. Mongo briefly down) is retried; the notifier's guard keeps it at most once.
  const queue: Queue<DomainEvent> = rt.queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE, { attempts: 5, backoff: { type: 'exponential', delay: 2000 } });
  const retried = { attempts: 5, backoff: { type: 'exponential' as const, delay: 2000 } };
  const walletQueue = rt.wallet ? rt.queues.queue<DomainEvent>(WALLET_EVENTS_QUEUE, retried) : null;
  const insightQueue = rt.queues.queue<DomainEvent>(INSIGHT_EVENTS_QUEUE, retried);
  const relay = startOutboxRelay({ outbox: rt.core.outbox, queue: [queue, insightQueue, ...(walletQueue ? [walletQueue] : [])], logger: rt.logger });
  const maintenance = await startMaintenance({ core: rt.core, queues: rt.queues, logger: rt.logger });
  // Finish whatever a previous crash left half-done, without waiting for the first schedule.
  await maintenance.runNow('recover');
  const processors: { name: string; close(): Promise<void> }[] = [];
  const insight = await startInsightWorkers({ core: rt.core, queues: rt.queues, logger: rt.logger });
  processors.push({ name: 'insight (imports, audience, stats)', close: () => insight.close() });
  if (extras.channels) {
    const notify = startNotifyWorker({ queues: rt.queues, flows: extras.channels.flows, senders: extras.channels.senders, redis: rt.redis, logger: rt.logger });
    processors.push({ name: `notifications (${Object.keys(extras.channels.senders).join(', ') || 'no channel'})`, close: () => notify.close() });
  }
  if (rt.wallet) {
    const a = rt.wallet.apns;
    const apns = a ? createApnsClient({ host: a.host, key: a.key, keyId: a.keyId, teamId: a.teamId, concurrency: a.concurrency }) : null;
    const w = startWalletWorkers({
      queues: rt.queues,
      wallet: rt.wallet.wallet,
      apns,
      logger: rt.logger,
      eventsQueue: WALLET_EVENTS_QUEUE,
      debounceMs: rt.config.wallet.debounceMs,
      pushRate: rt.config.wallet.pushRate,
      prewarm: true,
      // A contest winner is also told by a pass message, in the member's language.
      messageFor: async (e) => {
        if (e.type !== 'contest.won' || typeof e.memberId !== 'string' || !extras.channels) return null;
        const member = await rt.core.members.byId(e.memberId);
        const data = e.data as { title?: unknown; place?: unknown } | undefined;
        return member ? extras.channels.i18n.t(member.language, 'contests:won', { title: data?.title, place: data?.place }) : null;
      },
    });
    processors.push({
      name: `wallet passes${apns ? ' + APNs' : ''}`,
      close: async () => {
        await w.close();
        await apns?.close();
      },
    });
  }
  return {
    summary: [`Workers: outbox relay, maintenance (recovery, expiry)${processors.length ? `, ${processors.map((p) => p.name).join(', ')}` : ''}; queue prefix "${rt.config.queuePrefix}"`],
    async close() {
      await relay.close();
      await Promise.allSettled(processors.map((p) => p.close()));
      await maintenance.close();
    },
  };
}
