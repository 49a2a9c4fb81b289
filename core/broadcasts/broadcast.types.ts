/** The channels a broadcast goes through: the two bots and the Wallet pass. */
export const BROADCAST_CHANNELS = ['telegram', 'vk', 'wallet'] as const;
export type BroadcastChannel = (typeof BROADCAST_CHANNELS)[number];

export const BROADCAST_STATUSES = ['scheduled', 'sending', 'paused', 'done', 'canceled'] as const;
export type BroadcastStatus = (typeof BROADCAST_STATUSES)[number];

/** Who a broadcast is for. */
export type Audience =
  | { kind: 'all' }
  | { kind: 'level'; levelId: string }
  | { kind: 'cards'; numbers: string[] }
  | { kind: 'phones'; phones: string[] }
  | { kind: 'segment'; segmentId: string };

/** Audiences only the engine builds: the admins' own chats (test sends) and a list of members (automations). */
export type EngineAudience = Audience | { kind: 'admins' } | { kind: 'members'; memberIds: string[] };

export const TEXT_MAX = 1000;
/** Lists given inline (cards, phones): the rest goes through a saved segment. */
export const LIST_MAX = 10_000;

export interface BroadcastButton {
  text: string;
  url: string;
}

/** What the admin API, the CLI and the panel give to create a broadcast. */
export interface BroadcastInput {
  text: string;
  audience: Audience;
  channels?: BroadcastChannel[] | undefined;
  button?: BroadcastButton | undefined;
  /** ISO time; absent or past: at once (quiet hours permitting). */
  scheduledAt?: string | Date | undefined;
  /** Members left out at random to measure the effect (0..50); default 0. */
  holdoutPercent?: number | undefined;
  /** Urgent notices ("the shop is closed today") go out during quiet hours too. */
  ignoreQuietHours?: boolean | undefined;
}

/** Delivery states; `queued` covers a delivery being sent right now. */
export const DELIVERY_OUTCOMES = ['sent', 'failed', 'blocked', 'skipped'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];
export type DeliveryState = 'queued' | 'sending' | DeliveryOutcome | 'holdout';

/**
 * The reason of a Telegram delivery whose sender died between claiming and recording it:
 * Telegram has no idempotency key, so whether it arrived is unknown and it is never sent again.
 */
export const INTERRUPTED = 'interrupted: the worker stopped while sending';

export interface ChannelCounts {
  queued: number;
  sent: number;
  failed: number;
  blocked: number;
  skipped: number;
}

export interface Recipients {
  telegram: number;
  vk: number;
  wallet: number;
  /** Members reached by at least one channel. */
  total: number;
}

export interface BroadcastView {
  id: string;
  kind: 'campaign' | 'automation' | 'test';
  status: BroadcastStatus;
  text: string;
  audience: EngineAudience;
  channels: BroadcastChannel[];
  button: BroadcastButton | null;
  scheduledAt: string | null;
  holdoutPercent: number;
  ignoreQuietHours: boolean;
  recipients: Recipients;
  counts: Record<BroadcastChannel, ChannelCounts>;
  holdout: number;
  unsubscribed: number;
  /** Whether every recipient has a delivery record yet. */
  planned: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** The message as each channel renders it (preview). */
export interface RenderedMessage {
  telegram: { html: string; buttons: string[] };
  vk: { text: string; buttons: string[] };
  wallet: { offer: string };
}

/** Where the service hands a broadcast to be planned (the worker role's queue); set by the runtime. */
export interface BroadcastJobs {
  plan(broadcastId: string, delayMs?: number): Promise<void>;
}
