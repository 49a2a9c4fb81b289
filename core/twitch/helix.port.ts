/**
 * What the giveaway needs of Twitch's Helix API, for the broadcaster whose token is stored.
 * The adapter (bots/twitch/twitch.client.ts, twurple) implements it; tests reach a fake Helix
 * through the same adapter. Helix refusals come back as HelixError with the HTTP status.
 */
export interface HelixReward {
  id: string;
  title: string;
}

export interface HelixRedemption {
  id: string;
  userId: string;
  /** What the viewer typed (the card number). */
  userInput: string;
}

export type RedemptionStatus = 'FULFILLED' | 'CANCELED';

export interface HelixPort {
  /** The connected broadcaster: the channel whose rewards and redemptions are managed. */
  readonly broadcaster: { id: string; login: string };
  /** The custom rewards this app created on the channel. */
  myRewards(): Promise<HelixReward[]>;
  createReward(input: { title: string; prompt: string; cost: number }): Promise<HelixReward>;
  disableReward(rewardId: string): Promise<void>;
  /** Every unfulfilled redemption of the reward, oldest first (all pages). */
  unfulfilledRedemptions(rewardId: string): Promise<HelixRedemption[]>;
  setRedemptionStatus(rewardId: string, redemptionId: string, status: RedemptionStatus): Promise<void>;
}

/** Helix answered with an error status. */
export class HelixError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    message: string,
  ) {
    super(message);
    this.name = 'HelixError';
  }
}

export function helixStatus(err: unknown): number | null {
  return err instanceof HelixError ? err.status : null;
}

/** Log lines of the giveaway (pino's shape, so a child logger fits). */
export interface TwitchLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}
