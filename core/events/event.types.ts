import type { EntryType } from '../ledger/ledger.types.js';

/** Facts the core records for bots, the wallet and reports; delivered through the outbox. */
export type DomainEvent =
  | {
      id: string;
      type: 'points.changed';
      at: string;
      card: string;
      memberId: string | null;
      data: { entryId: string; entryType: EntryType; amount: number; balance: number; shortfall: number; ref: Record<string, unknown> };
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

/** BullMQ queue the outbox relay feeds; consumers (notifications, wallet) read from it. */
export const DOMAIN_EVENTS_QUEUE = 'domain-events';
/** The wallet worker's own copy of every event (BullMQ gives a job to one consumer only). */
export const WALLET_EVENTS_QUEUE = 'domain-events-wallet';

/** BullMQ job ids may not contain ':' (its key separator); event ids (ledger keys) do. */
export function jobIdFor(eventId: string): string {
  return eventId.replaceAll(':', '|');
}
