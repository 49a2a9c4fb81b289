/**
 * The contract between a chat channel's notification sender (bots/) and the notification
 * worker (workers/), which know nothing of each other: the sender says "not now" by throwing
 * DeliveryDeferred instead of waiting, and the worker puts the job back with that delay, so
 * one flooded chat never holds up everybody else's notices.
 */
export class DeliveryDeferred extends Error {
  constructor(
    /** How long the channel asked us to wait (Telegram's retry_after), or our own pause. */
    readonly retryAfterMs: number,
    message: string,
  ) {
    super(message);
    this.name = 'DeliveryDeferred';
  }
}

/** Sends one notification's messages to one user of a channel; `deliveryKey` names what is delivered (the event id). */
export type ChannelSender<M> = (userId: string, messages: M, deliveryKey: string) => Promise<void>;
