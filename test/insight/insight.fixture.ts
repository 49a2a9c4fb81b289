import type { Operation } from '../../core/insight/points-event.parse.js';

export interface EventSpec {
  id: string;
  at: string;
  card?: string;
  memberId: string | null;
  seq: number;
  operation: Operation;
  role?: 'referrer' | 'invitee';
  lines?: { kind: 'redemption' | 'accrual' | 'clawback' | 'return' | 'credit' | 'debit' | 'expiry'; points: number; amount: number }[];
  balance?: number;
  spendDeltaKopecks?: number;
  levelTo?: string;
  counters?: Partial<{ purchases: number; spentKopecks: number; lastPurchaseAt: string | null; earned: number; redeemed: number; expired: number }>;
  reason?: string;
}

/** A `points.changed` event in the shape of the ledger contract (docs of issue 9), as the relay will publish it. */
export function pointsEvent(s: EventSpec) {
  const lines = s.lines ?? [];
  const amount = lines.reduce((a, l) => a + l.amount, 0);
  return {
    id: s.id,
    type: 'points.changed',
    at: s.at,
    card: s.card ?? '7000000000000',
    memberId: s.memberId,
    data: {
      entryId: s.id.replace(/^entry:/, ''),
      seq: s.seq,
      operation: s.operation,
      ...(s.role ? { role: s.role } : {}),
      lines,
      amount,
      balance: s.balance ?? 0,
      shortfall: 0,
      spendDeltaKopecks: s.spendDeltaKopecks ?? 0,
      levelFrom: 'base',
      levelTo: s.levelTo ?? 'base',
      counters: { purchases: 0, spentKopecks: 0, lastPurchaseAt: null, earned: 0, redeemed: 0, expired: 0, ...s.counters },
      ref: s.reason ? { reason: s.reason } : {},
    },
  };
}
