import type { EntryType, LineKind, MovementRef, ReferralRole } from '../ledger/ledger.types.js';

/** A ledger entry as told to consumers (notifications, the wallet, statistics). */
export interface PointsChangedData {
  entryId: string;
  /** The card's transition number: of two snapshots of one card, the higher seq is newer. */
  seq: number;
  operation: EntryType;
  role?: ReferralRole;
  lines: { kind: LineKind; points: number; amount: number }[];
  /** Net signed change of the balance. */
  amount: number;
  balance: number;
  shortfall: number;
  spendDeltaKopecks: number;
  levelFrom: string;
  levelTo: string;
  /** The card's cumulative figures after this entry. */
  counters: { purchases: number; spentKopecks: number; lastPurchaseAt: string | null; earned: number; redeemed: number; expired: number };
  ref: MovementRef & { totalKopecks?: number };
}

/** Facts the core records for bots, the wallet and reports; delivered through the outbox. */
export type DomainEvent =
  | {
      id: string;
      type: 'points.changed';
      at: string;
      card: string;
      memberId: string | null;
      data: PointsChangedData;
    }
  | {
      id: string;
      type: 'level.changed';
      at: string;
      card: string;
      memberId: string | null;
      data: { from: string; to: string; manual: boolean };
    }
  | {
      /** `contest-won:<contestId>:<place>`: one per winner, added again (idempotently) by a repeated draw. */
      id: string;
      type: 'contest.won';
      at: string;
      card: string;
      memberId: string | null;
      /** `channel` and `account` (`telegram:123`) say where the winner entered, to tell them there. */
      data: { contestId: string; title: string; place: number; channel: string; account: string };
    }
  | {
      /** `phone-proof:<proofId>`. */
      id: string;
      type: 'phone.verification';
      at: string;
      card: string;
      memberId: string | null;
      /**
       * A one-time code for linking another chat account (`channel`, `account`: its user id there)
       * to this member, told in the chats the member already uses. Worthless after `expiresAt` or
       * its first use; the proof itself keeps only a hash (core/members/phone-proof.service.ts).
       */
      data: { code: string; channel: string; account: string; expiresAt: string };
    };

/**
 * Where core hands events for delivery (the outbox's relay, or straight to the queues): must be
 * idempotent by event id, since a crash between handing over and recording it hands them again.
 */
export interface EventSink {
  publish(events: DomainEvent[]): Promise<void>;
}
/** BullMQ queue the outbox relay feeds; consumers (notifications, wallet) read from it. */
export const DOMAIN_EVENTS_QUEUE = 'domain-events';
/** The insight consumer's own copy (member counters, daily stats). */
export const INSIGHT_EVENTS_QUEUE = 'domain-events-insight';
/** The wallet worker's own copy of every event (BullMQ gives a job to one consumer only). */
export const WALLET_EVENTS_QUEUE = 'domain-events-wallet';

/** BullMQ job ids may not contain ':' (its key separator); event ids (ledger keys) do. */
export function jobIdFor(eventId: string): string {
  return eventId.replaceAll(':', '|');
}
