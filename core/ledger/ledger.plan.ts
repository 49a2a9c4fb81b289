import type { CardDoc } from '../cards/card.model.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { levelFor } from '../programme/rules.js';
import { DomainError } from '../shared/errors.js';
import type { Lot, MovementEffect, MovementResult } from './ledger.types.js';

/** The part of a card a movement changes. Invariant: balance = Σ lots.remaining. */
export type CardState = Pick<CardDoc, 'balance' | 'debt' | 'spentKopecks' | 'levelId' | 'manualLevelId' | 'lots' | 'earnedTotal' | 'spentPointsTotal'>;

export interface PlannedMovement {
  entryId: string;
  effect: MovementEffect;
  points: number;
  spendDeltaKopecks: number;
  lotId: string | null;
  lotExpiresAt: Date | null;
}

/** Oldest first: spending, clawback and expiry take the lots that expire soonest. */
function byExpiry(a: Lot, b: Lot): number {
  return a.expiresAt.getTime() - b.expiresAt.getTime() || a.earnedAt.getTime() - b.earnedAt.getTime();
}

function take(lots: Lot[], points: number): { lots: Lot[]; used: { entryId: string; points: number }[] } {
  const sorted = lots.map((l) => ({ ...l })).sort(byExpiry);
  const used: { entryId: string; points: number }[] = [];
  let left = points;
  for (const lot of sorted) {
    if (left === 0) break;
    const n = Math.min(lot.remaining, left);
    if (n > 0) {
      lot.remaining -= n;
      left -= n;
      used.push({ entryId: lot.entryId, points: n });
    }
  }
  return { lots: sorted.filter((l) => l.remaining > 0), used };
}

/**
 * Computes the card after one movement, or throws a DomainError when it is refused. Pure: the
 * same card and movement always give the same result, so a retry or the recovery pass
 * recomputes exactly what an interrupted call would have written.
 */
export function planMovement(
  card: CardState,
  mv: PlannedMovement,
  settings: ProgrammeSettings,
  now: Date,
): { next: CardState; result: MovementResult } {
  if (!Number.isSafeInteger(mv.points) || mv.points < 0) throw new DomainError('validation_failed', 'points must be a non-negative integer');
  let { balance, debt, lots, earnedTotal, spentPointsTotal } = card;
  let amount = 0;
  let shortfall = 0;
  let debtPaid = 0;
  let used: { entryId: string; points: number }[] = [];
  switch (mv.effect) {
    case 'credit': {
      // Rule: a shortfall left by an earlier clawback is paid from the next accruals first.
      debtPaid = Math.min(debt, mv.points);
      debt -= debtPaid;
      amount = mv.points - debtPaid;
      if (amount > 0) {
        const expiresAt = mv.lotExpiresAt;
        if (!expiresAt) throw new Error('credit without lot expiry');
        // Points expiring the same moment (the same earning day) share one lot.
        const same = lots.find((l) => l.expiresAt.getTime() === expiresAt.getTime());
        lots = same
          ? lots.map((l) => (l === same ? { ...l, remaining: l.remaining + amount } : l))
          : [...lots, { entryId: mv.entryId, earnedAt: now, expiresAt, remaining: amount }];
      }
      earnedTotal += mv.points;
      break;
    }
    case 'debit': {
      if (balance < mv.points) throw new DomainError('insufficient_points', `balance ${balance} < ${mv.points}`, { balance });
      ({ lots, used } = take(lots, mv.points));
      amount = -mv.points;
      spentPointsTotal += mv.points;
      break;
    }
    case 'clawback': {
      // Rule: a clawback larger than the balance takes it to zero and records the shortfall.
      const taken = Math.min(balance, mv.points);
      ({ lots, used } = take(lots, taken));
      shortfall = mv.points - taken;
      debt += shortfall;
      amount = -taken;
      break;
    }
    case 'expire': {
      const lot = lots.find((l) => l.entryId === mv.lotId);
      const n = lot && lot.expiresAt.getTime() <= now.getTime() ? lot.remaining : 0;
      if (lot && n > 0) used = [{ entryId: lot.entryId, points: n }];
      lots = lots.filter((l) => l !== lot || n === 0);
      amount = -n;
      break;
    }
  }
  balance += amount;
  const spentKopecks = Math.max(0, card.spentKopecks + mv.spendDeltaKopecks);
  const levelTo = levelFor(settings, spentKopecks, card.manualLevelId).id;
  const next: CardState = { ...card, balance, debt, lots, spentKopecks, levelId: levelTo, earnedTotal, spentPointsTotal };
  const lotSum = lots.reduce((s, l) => s + l.remaining, 0);
  if (balance < 0 || lotSum !== balance) throw new Error(`ledger invariant broken: balance ${balance}, lots ${lotSum}`);
  return { next, result: { amount, balanceAfter: balance, shortfall, debtPaid, levelFrom: card.levelId, levelTo, lotsUsed: used } };
}
