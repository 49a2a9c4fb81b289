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
    };

export type DomainEventType = DomainEvent['type'];
/** BullMQ queue the outbox relay feeds; consumers (notifications, wallet) read from it. */
export const DOMAIN_EVENTS_QUEUE = 'domain-events';

/** BullMQ job ids may not contain ':' (its key separator); event ids (ledger keys) do. */
export function jobIdFor(eventId: string): string {
  return eventId.replaceAll(':', '|');
}
