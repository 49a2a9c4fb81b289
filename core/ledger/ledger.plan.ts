import type { CardDoc } from '../cards/card.model.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { levelFor } from '../programme/rules.js';
import { DomainError } from '../shared/errors.js';
import type { AppliedLine, CardCounters, EntryResult, ImportedCounters, LineRequest, Lot, ReceiptRefunds, RefundRecord } from './ledger.types.js';

/** The ledger's part of a card: what one entry changes. Invariant: balance = Σ lots.remaining. */
export type CardState = Pick<
  CardDoc,
  | 'balance'
  | 'debt'
  | 'spentKopecks'
  | 'levelId'
  | 'manualLevelId'
  | 'lots'
  | 'earnedTotal'
  | 'spentPointsTotal'
  | 'expiredTotal'
  | 'purchases'
  | 'lastPurchaseAt'
  | 'refunds'
  | 'importedCounters'
>;

export interface PlannedLine extends LineRequest {
  /** For credits: expiry of the lot the points go to, fixed when the entry is written. */
  lotExpiresAt?: Date | null;
}

export interface PlannedTransition {
  entryId: string;
  lines: PlannedLine[];
  spendDeltaKopecks: number;
  /** A receipt: counts as a purchase and moves `lastPurchaseAt`. */
  isPurchase: boolean;
  refund: RefundRecord | null;
  /** Present for a hand-set level: the new hand-assigned level (null clears it). */
  manualLevelId?: string | null;
  /** Present for an import: the imported totals that now stand. */
  imported?: ImportedCounters | null;
}

/** Oldest first: spending, clawback and expiry take the lots that expire soonest. */
function byExpiry(a: Lot, b: Lot): number {
  return a.expiresAt.getTime() - b.expiresAt.getTime() || a.earnedAt.getTime() - b.earnedAt.getTime();
}

function take(lots: Lot[], points: number): Lot[] {
  const sorted = lots.map((l) => ({ ...l })).sort(byExpiry);
  let left = points;
  for (const lot of sorted) {
    if (left === 0) break;
    const n = Math.min(lot.remaining, left);
    lot.remaining -= n;
    left -= n;
  }
  return sorted.filter((l) => l.remaining > 0);
}

function cloneState(card: CardState): CardState {
  return {
    ...card,
    lots: card.lots.map((l) => ({ entryId: l.entryId, earnedAt: new Date(l.earnedAt), expiresAt: new Date(l.expiresAt), remaining: l.remaining })),
    refunds: card.refunds.map((r) => ({ ...r })),
    lastPurchaseAt: card.lastPurchaseAt ? new Date(card.lastPurchaseAt) : null,
    importedCounters: card.importedCounters ? { ...card.importedCounters } : null,
  };
}

/** One line applied to the state (mutates `s`), or a DomainError when the card refuses it. */
function applyLine(s: CardState, line: PlannedLine, entryId: string, now: Date): AppliedLine {
  if (!Number.isSafeInteger(line.points) || line.points < 0) throw new DomainError('validation_failed', 'points must be a non-negative integer');
  const out: AppliedLine = { kind: line.kind, effect: line.effect, points: line.points, amount: 0, debtPaid: 0, shortfall: 0, lotId: line.lotId ?? null, lotExpiresAt: null };
  switch (line.effect) {
    case 'credit': {
      // Rule: a shortfall left by an earlier clawback is paid from the next credits first.
      out.debtPaid = Math.min(s.debt, line.points);
      s.debt -= out.debtPaid;
      out.amount = line.points - out.debtPaid;
      if (out.amount > 0) {
        const expiresAt = line.lotExpiresAt;
        if (!expiresAt) throw new Error('credit without lot expiry');
        out.lotExpiresAt = expiresAt;
        // Points expiring the same moment (the same earning day) share one lot: a card holds at
        // most one lot per day of the expiry period.
        const same = s.lots.find((l) => l.expiresAt.getTime() === expiresAt.getTime());
        if (same) same.remaining += out.amount;
        else s.lots.push({ entryId, earnedAt: now, expiresAt, remaining: out.amount });
      }
      if (line.kind === 'return') s.spentPointsTotal = Math.max(0, s.spentPointsTotal - line.points);
      else s.earnedTotal += line.points;
      break;
    }
    case 'debit': {
      if (s.balance < line.points) throw new DomainError('insufficient_points', `balance ${s.balance} < ${line.points}`, { balance: s.balance });
      s.lots = take(s.lots, line.points);
      out.amount = -line.points;
      s.spentPointsTotal += line.points;
      break;
    }
    case 'clawback': {
      // Rule: a clawback larger than the balance takes it to zero and records the shortfall.
      const taken = Math.min(s.balance, line.points);
      s.lots = take(s.lots, taken);
      out.shortfall = line.points - taken;
      s.debt += out.shortfall;
      out.amount = -taken;
      break;
    }
    case 'expire': {
      const lot = s.lots.find((l) => l.entryId === line.lotId);
      const n = lot && lot.expiresAt.getTime() <= now.getTime() ? lot.remaining : 0;
      if (lot && n > 0) s.lots = s.lots.filter((l) => l !== lot);
      out.points = n;
      out.amount = -n;
      s.expiredTotal += n;
      break;
    }
  }
  s.balance += out.amount;
  return out;
}

function addRefund(refunds: ReceiptRefunds[], r: RefundRecord): ReceiptRefunds[] {
  const prior = refunds.find((x) => x.purchaseKey === r.purchaseKey);
  const next = { purchaseKey: r.purchaseKey, kopecks: (prior?.kopecks ?? 0) + r.amountKopecks, clawed: (prior?.clawed ?? 0) + r.clawback, returned: (prior?.returned ?? 0) + r.returned };
  return [...refunds.filter((x) => x !== prior), next];
}

export function countersOf(s: CardState): CardCounters {
  return { purchases: s.purchases, spentKopecks: s.spentKopecks, lastPurchaseAt: s.lastPurchaseAt, earned: s.earnedTotal, redeemed: s.spentPointsTotal, expired: s.expiredTotal };
}

/**
 * The card after one entry, or a DomainError when the card refuses it (nothing is written then).
 * Pure: the same card and entry always give the same result, so whoever folds a written entry
 * into a card that lags behind (after a crash, or another process) computes exactly what its
 * writer computed. `levelTo`, when given, is the level the writer recorded: settings may have
 * changed since, the entry's outcome may not.
 */
export function planTransition(
  card: CardState,
  t: PlannedTransition,
  settings: ProgrammeSettings,
  now: Date,
  levelTo?: string,
): { next: CardState; lines: AppliedLine[]; result: EntryResult } {
  const s = cloneState(card);
  const lines = t.lines.map((l) => applyLine(s, l, t.entryId, now));
  s.spentKopecks = Math.max(0, s.spentKopecks + t.spendDeltaKopecks);
  if (t.isPurchase) {
    s.purchases += 1;
    s.lastPurchaseAt = now;
  }
  if (t.refund) s.refunds = addRefund(s.refunds, t.refund);
  if (t.manualLevelId !== undefined) s.manualLevelId = t.manualLevelId;
  if (t.imported) {
    // Rule: an import's totals replace those of the import before; the counters move by the difference.
    const prev = s.importedCounters ?? { purchases: 0, spentKopecks: 0, lastPurchaseAt: null };
    s.purchases = Math.max(0, s.purchases + t.imported.purchases - prev.purchases);
    s.spentKopecks = Math.max(0, s.spentKopecks + t.imported.spentKopecks - prev.spentKopecks);
    const last = t.imported.lastPurchaseAt ? new Date(t.imported.lastPurchaseAt) : null;
    if (last && (!s.lastPurchaseAt || last.getTime() > s.lastPurchaseAt.getTime())) s.lastPurchaseAt = last;
    s.importedCounters = { ...t.imported, lastPurchaseAt: last };
  }
  s.levelId = levelTo ?? levelFor(settings, s.spentKopecks, s.manualLevelId).id;
  const lotSum = s.lots.reduce((sum, l) => sum + l.remaining, 0);
  if (s.balance < 0 || lotSum !== s.balance) throw new Error(`ledger invariant broken: balance ${s.balance}, lots ${lotSum}`);
  const amount = lines.reduce((sum, l) => sum + l.amount, 0);
  const shortfall = lines.reduce((sum, l) => sum + l.shortfall, 0);
  return {
    next: s,
    lines,
    result: { amount, balanceAfter: s.balance, debtAfter: s.debt, levelFrom: card.levelId, levelTo: s.levelId, shortfall, counters: countersOf(s) },
  };
}

/** The ledger's part of a card document (cards written before a field existed read it as zero). */
export function stateOf(card: CardDoc): CardState {
  const c: Partial<CardState> = card;
  return cloneState({
    balance: c.balance ?? 0,
    debt: c.debt ?? 0,
    spentKopecks: c.spentKopecks ?? 0,
    levelId: card.levelId,
    manualLevelId: c.manualLevelId ?? null,
    lots: c.lots ?? [],
    earnedTotal: c.earnedTotal ?? 0,
    spentPointsTotal: c.spentPointsTotal ?? 0,
    expiredTotal: c.expiredTotal ?? 0,
    purchases: c.purchases ?? 0,
    lastPurchaseAt: c.lastPurchaseAt ?? null,
    refunds: c.refunds ?? [],
    importedCounters: c.importedCounters ?? null,
  });
}
