import { z } from 'zod';
import { ENTRY_TYPES, LINE_KINDS } from '../ledger/ledger.types.js';
import type { DomainEvent } from './event.types.js';

const base = { id: z.string().min(1), at: z.string().min(1), card: z.string().min(1), memberId: z.string().nullable() };

/**
 * A domain event as a queue payload, validated again by every consumer (notifications, the
 * wallet): a queue is a boundary like any other. The one schema of DomainEvent.
 */
export const domainEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('points.changed'),
    data: z.object({
      entryId: z.string(),
      seq: z.int().min(1),
      operation: z.enum(ENTRY_TYPES),
      role: z.enum(['referrer', 'invitee']).optional(),
      lines: z.array(z.object({ kind: z.enum(LINE_KINDS), points: z.int(), amount: z.int() })),
      amount: z.int(),
      balance: z.int(),
      shortfall: z.int(),
      spendDeltaKopecks: z.int(),
      levelFrom: z.string(),
      levelTo: z.string(),
      counters: z.object({
        purchases: z.int(),
        spentKopecks: z.int(),
        lastPurchaseAt: z.string().nullable(),
        earned: z.int(),
        redeemed: z.int(),
        expired: z.int(),
      }),
      ref: z.object({
        storeId: z.string().optional(),
        receiptId: z.string().optional(),
        refundId: z.string().optional(),
        memberId: z.string().optional(),
        reason: z.string().optional(),
        author: z.string().optional(),
        partnerId: z.string().optional(),
        totalKopecks: z.int().optional(),
      }),
    }),
  }),
  z.object({ ...base, type: z.literal('level.changed'), data: z.object({ from: z.string(), to: z.string(), manual: z.boolean() }) }),
  z.object({
    ...base,
    type: z.literal('contest.won'),
    data: z.object({ contestId: z.string(), title: z.string(), place: z.int(), channel: z.string(), account: z.string() }),
  }),
  z.object({
    ...base,
    type: z.literal('phone.verification'),
    data: z.object({ code: z.string().regex(/^\d{6}$/), channel: z.string().min(1), account: z.string().min(1), expiresAt: z.string().min(1) }),
  }),
]) satisfies z.ZodType<DomainEvent>;

/** Fails to compile when DomainEvent gains a type this schema does not know: add its schema above. */
type UnvalidatedEventType = Exclude<DomainEvent['type'], z.infer<typeof domainEventSchema>['type']>;
type Complete = [UnvalidatedEventType] extends [never] ? true : UnvalidatedEventType;
const everyEventTypeValidated = (ok: Complete): Complete => ok;
everyEventTypeValidated(true);
