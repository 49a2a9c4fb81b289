import type { BroadcastButton } from '../core/broadcasts/broadcast.types.js';
import type { Language } from '../core/i18n/i18n.js';

/**
 * The contract between the chat channels' broadcast senders (bots/) and the broadcast workers
 * (workers/), which know nothing of each other: main.ts hands the senders over.
 */
export interface BroadcastMessage {
  broadcastId: string;
  /** The marketer's plain text (the channel renders it safely). */
  text: string;
  button: BroadcastButton | null;
  /** The recipients' language (the unsubscribe button's label). */
  lang: Language;
}

/** What became of one message. */
export type BroadcastSendResult =
  | { status: 'sent' }
  /** The person blocked the bot, deleted the account, or does not allow messages: unreachable there. */
  | { status: 'blocked'; reason: string }
  /** Refused for good (a bad chat id, a message the channel rejects) or unknown (a network failure after sending began). */
  | { status: 'failed'; reason: string }
  /** Nothing was delivered; try again after `afterMs`. `global`: the channel throttles the whole bot (Telegram's 429). */
  | { status: 'retry'; afterMs: number; global: boolean; reason: string };

export interface BroadcastSenders {
  /** One message to one Telegram chat. */
  telegram?: (chatId: string, message: BroadcastMessage) => Promise<BroadcastSendResult>;
  /**
   * One message to up to 100 VK peers in one messages.send (peer_ids). `randomId` is the same
   * for every peer of a broadcast, so VK drops a repeat. Either a result per peer, or one
   * `retry` for the whole call (flood control, a server error).
   */
  vk?: (peerIds: string[], message: BroadcastMessage, randomId: number) => Promise<Map<string, BroadcastSendResult> | Extract<BroadcastSendResult, { status: 'retry' }>>;
}
