import type { Config } from '../core/config.js';
import type { Core } from '../core/core.js';
import { WALLET_EVENTS_QUEUE, type DomainEvent, type EventSink } from '../core/events/event.types.js';
import type { I18n } from '../core/i18n/i18n.js';
import type { HelixPort } from '../core/twitch/helix.port.js';
import type { Wallet } from '../core/wallet/wallet.service.js';
import type { ChannelSender } from '../infra/delivery.js';
import type { Logger } from '../infra/logger.js';
import type { QueueFactory } from '../infra/queue.factory.js';
import type { Redis } from '../infra/redis.js';
import type { RoleHandle } from '../infra/role.js';
import type { ApnsSetup } from '../infra/wallet/wallet-setup.js';
import { startMaintenance } from './maintenance/maintenance.jobs.js';
import { startNotifyWorker, type Notification } from './notifications/notify.worker.js';
import { startOutboxRelay } from './outbox/outbox-relay.worker.js';
import { removeTwitchPoll, startTwitchPoll } from './twitch/twitch-poll.job.js';
import { createApnsClient } from './wallet/apns.client.js';
import { startWalletWorkers } from './wallet/wallet.worker.js';
import { startInsightWorkers } from './insight/insight.jobs.js';
import { startBroadcastWorkers } from './broadcasts/broadcast.worker.js';
import type { BroadcastSenders } from '../infra/broadcast-delivery.js';

/** The chat channels' side of notifications, handed over by main.ts (workers know no channel). */
export interface NotificationChannels<M> {
  flows: { notification(event: DomainEvent): Promise<Notification<M>[]> };
  senders: Partial<Record<string, ChannelSender<M>>>;
}

export interface WorkerRoleDeps<M> {
  config: Pick<Config, 'queuePrefix' | 'wallet' | 'ledgerSweepEveryMs' | 'broadcasts'>;
  core: Core;
  queues: QueueFactory;
  /** Where events go (the consumers' queues): the outbox relay feeds it. */
  events: EventSink;
  /** A command connection for the notification guards. */
  redis: Redis;
  logger: Logger;
  i18n: I18n;
  wallet: { wallet: Wallet; apns: ApnsSetup | null } | null;
  notifications?: NotificationChannels<M> | undefined;
  /** The chat channels' broadcast senders (main.ts hands them over); absent: bot broadcasts count as failed. */
  broadcastSenders?: BroadcastSenders | undefined;
  /** A connected broadcaster's Helix and how often to poll it; absent: Twitch is off. */
  twitch?: { helix: HelixPort; pollMs: number } | undefined;
}

/**
 * The `worker` role: the outbox relay (domain events → BullMQ), scheduled maintenance
 * (recovery pass every minute and once at start, point expiry hourly), notifications through
 * the chat channels it is given, the wallet's pass updates and pushes, and the Twitch
 * giveaway poll (a job scheduler).
 */
export async function startWorkers<M>(deps: WorkerRoleDeps<M>): Promise<RoleHandle> {
  const { core, queues, logger } = deps;
  // The queues (with their retry policy) are the runtime's event sink; the relay feeds it the
  // events that are not ledger movements (and those a lean process recorded in the outbox). A
  // failed delivery is retried; the notifier's guard keeps it at most once.
  const relay = startOutboxRelay({ outbox: core.outbox, sink: deps.events, logger });
  const maintenance = await startMaintenance({ core, queues, logger, everyMs: { recover: deps.config.ledgerSweepEveryMs } });
  // Finish whatever a previous crash left half-done, without waiting for the first schedule.
  await maintenance.runNow('recover');
  const processors: { name: string; close(): Promise<void> }[] = [];
  const insight = await startInsightWorkers({ core, queues, logger });
  processors.push({ name: 'insight (imports, audience, stats)', close: () => insight.close() });
  if (deps.notifications) {
    const { flows, senders } = deps.notifications;
    const notify = startNotifyWorker({ queues, flows, senders, redis: deps.redis, logger });
    processors.push({ name: `notifications (${Object.keys(senders).join(', ') || 'no channel'})`, close: () => notify.close() });
  }
  if (deps.wallet) {
    const { wallet, apns: a } = deps.wallet;
    const apns = a ? createApnsClient({ host: a.host, key: a.key, keyId: a.keyId, teamId: a.teamId, concurrency: a.concurrency }) : null;
    const w = startWalletWorkers({
      queues,
      wallet,
      apns,
      logger,
      eventsQueue: WALLET_EVENTS_QUEUE,
      debounceMs: deps.config.wallet.debounceMs,
      pushRate: deps.config.wallet.pushRate,
      prewarm: true,
      // A contest win is also told on the winner's pass: the core says so and in which words.
      messageFor: (e) => wallet.passMessageFor(e),
    });
    processors.push({
      name: `wallet passes${apns ? ' + APNs' : ''}`,
      close: async () => {
        await w.close();
        await apns?.close();
      },
    });
  }
  // Broadcasts: their own queues, so a campaign never holds up a notice.
  const senders = deps.broadcastSenders ?? {};
  const broadcasts = await startBroadcastWorkers({ core, queues, redis: deps.redis, senders, wallet: deps.wallet?.wallet ?? null, logger, options: deps.config.broadcasts });
  processors.push({ name: `broadcasts (${[...Object.keys(senders), ...(deps.wallet ? ['wallet'] : [])].join(', ') || 'no channel'})`, close: () => broadcasts.close() });
  if (deps.twitch) {
    const giveaway = core.twitch.giveaway({ helix: deps.twitch.helix, i18n: deps.i18n, log: logger.child({ channel: 'twitch' }) });
    const poll = await startTwitchPoll({ queues, giveaway, everyMs: deps.twitch.pollMs, logger });
    processors.push({ name: 'Twitch giveaways', close: () => poll.close() });
  } else {
    await removeTwitchPoll(queues);
  }
  return {
    summary: [`Workers: outbox relay, maintenance (recovery, expiry, contest closing, privacy)${processors.length ? `, ${processors.map((p) => p.name).join(', ')}` : ''}; queue prefix "${deps.config.queuePrefix}"`],
    async close() {
      await relay.close();
      await Promise.allSettled(processors.map((p) => p.close()));
      await maintenance.close();
    },
  };
}
