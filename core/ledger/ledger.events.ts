import type { DomainEvent } from '../events/event.types.js';
import type { EntryDoc } from './entry.model.js';

/**
 * The events one entry tells: points.changed always, level.changed when it moved the level.
 * Their ids derive from the entry, so publishing an entry twice publishes nothing new.
 */
export function entryEvents(e: EntryDoc): DomainEvent[] {
  const at = new Date(e.createdAt).toISOString();
  const c = e.result.counters;
  const events: DomainEvent[] = [
    {
      id: `entry:${e._id}`,
      type: 'points.changed',
      at,
      card: e.card,
      memberId: e.memberId,
      data: {
        entryId: e._id,
        seq: e.seq,
        operation: e.type,
        ...(e.role ? { role: e.role } : {}),
        lines: e.lines.map((l) => ({ kind: l.kind, points: l.points, amount: l.amount })),
        amount: e.amount,
        balance: e.result.balanceAfter,
        shortfall: e.result.shortfall,
        spendDeltaKopecks: e.spendDeltaKopecks,
        levelFrom: e.result.levelFrom,
        levelTo: e.result.levelTo,
        counters: { ...c, lastPurchaseAt: c.lastPurchaseAt ? new Date(c.lastPurchaseAt).toISOString() : null },
        ref: { ...e.ref, ...(e.purchase ? { totalKopecks: e.purchase.totalKopecks } : {}) },
      },
    },
  ];
  if (e.result.levelFrom !== e.result.levelTo) {
    events.push({ id: `level:${e._id}`, type: 'level.changed', at, card: e.card, memberId: e.memberId, data: { from: e.result.levelFrom, to: e.result.levelTo, manual: e.type === 'level' } });
  }
  return events;
}
