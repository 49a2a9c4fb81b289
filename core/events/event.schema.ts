import { z } from 'zod';
import { ENTRY_TYPES } from '../ledger/ledger.types.js';
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
      entryType: z.enum(ENTRY_TYPES),
      amount: z.number().int(),
      balance: z.number().int(),
      shortfall: z.number().int(),
      ref: z.record(z.string(), z.unknown()),
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
