import { DomainError } from '../shared/errors.js';
import type { ProgrammeSettings } from './settings.schema.js';

/**
 * The programme's arithmetic, pure and in integers: kopecks, points, basis points. Products
 * of money and basis points can pass 2^53 on big receipts, so they are taken in BigInt and
 * only the (small) results come back as numbers.
 */

/** A level as the rest of the product sees it, whichever list of the settings it came from. */
export interface Level {
  id: string;
  name: { ru: string; en: string };
  percentBp: number;
  /** Spend from which the level applies; null for levels assigned by hand only. */
  minSpendKopecks: number | null;
  manual: boolean;
}

const BP = 10_000n;

/** Basis points as a percent, for display (`{{percent, number}}`, the till's level view): 300 → 3, 250 → 2.5. */
export function percentOf(bp: number): number {
  return bp / 100;
}

function int(name: string, v: number, min = 0): bigint {
  if (!Number.isSafeInteger(v) || v < min) {
    throw new DomainError('validation_failed', `${name} must be an integer ≥ ${min}, got ${v}`, { field: name });
  }
  return BigInt(v);
}

/** round(n / d) with halves going up; n ≥ 0, d > 0. */
function divRoundHalfUp(n: bigint, d: bigint): bigint {
  return (2n * n + d) / (2n * d);
}

/** Points earned on `baseKopecks` at `percentBp`, rounded half up: 19.90 ₽ at 5% = 0.995 → 1. */
export function accrualPoints(baseKopecks: number, percentBp: number, pointValueKopecks = 100): number {
  const base = int('baseKopecks', baseKopecks);
  const bp = int('percentBp', percentBp);
  if (percentBp > 10_000) throw new DomainError('validation_failed', `percentBp must be ≤ 10000, got ${percentBp}`, { field: 'percentBp' });
  const pv = int('pointValueKopecks', pointValueKopecks, 1);
  return Number(divRoundHalfUp(base * bp, BP * pv));
}

function spendLevel(l: ProgrammeSettings['levels'][number]): Level {
  return { id: l.id, name: l.name, percentBp: l.percentBp, minSpendKopecks: l.minSpendKopecks, manual: false };
}

/**
 * The member's level: the one set by hand when it names a level that still exists (a manual
 * one such as staff, or a spend level pinned by an admin), otherwise the highest spend level
 * reached. An unknown manual id (a level since removed) falls back to spend.
 */
export function levelFor(settings: ProgrammeSettings, spendKopecks: number, manualLevelId?: string | null): Level {
  if (manualLevelId) {
    const manual = settings.manualLevels.find((l) => l.id === manualLevelId);
    if (manual) return { id: manual.id, name: manual.name, percentBp: manual.percentBp, minSpendKopecks: null, manual: true };
    const pinned = settings.levels.find((l) => l.id === manualLevelId);
    if (pinned) return spendLevel(pinned);
  }
  // Levels are validated ascending from 0, so the first always applies.
  let reached = settings.levels[0];
  if (!reached) throw new DomainError('validation_failed', 'settings define no levels');
  for (const l of settings.levels) if (l.minSpendKopecks <= spendKopecks) reached = l;
  return spendLevel(reached);
}

/** The next spend level above `spendKopecks` and how much is left to reach it; null at the top. */
export function nextLevel(settings: ProgrammeSettings, spendKopecks: number): { level: Level; remainingKopecks: number } | null {
  const next = settings.levels.find((l) => l.minSpendKopecks > spendKopecks);
  return next ? { level: spendLevel(next), remainingKopecks: next.minSpendKopecks - Math.max(0, spendKopecks) } : null;
}

/**
 * Most points that may pay for a receipt: the cap (redeemCapBp of what is left after other
 * discounts; a partner's store may have its own cap), in whole points, and no more than the
 * balance (a negative balance gives 0).
 */
export function maxRedeemPoints(settings: ProgrammeSettings, totalKopecks: number, discountKopecks: number, balance: number, redeemCapBp = settings.redeemCapBp): number {
  const total = int('totalKopecks', totalKopecks);
  const discount = int('discountKopecks', discountKopecks);
  if (!Number.isSafeInteger(balance)) throw new DomainError('validation_failed', `balance must be an integer, got ${balance}`, { field: 'balance' });
  if (discount > total) throw new DomainError('validation_failed', 'discountKopecks exceeds totalKopecks', { field: 'discountKopecks' });
  const byCap = (int('redeemCapBp', redeemCapBp) * (total - discount)) / (BP * BigInt(settings.pointValueKopecks));
  return Math.max(0, Math.min(balance, Number(byCap)));
}

export interface PurchaseQuote {
  /** What accrual is computed on: total − other discounts − redeemed points' worth. */
  baseKopecks: number;
  /** Worth of the redeemed points in kopecks. */
  redeemKopecks: number;
  accrued: number;
  maxRedeem: number;
}

/**
 * Accrual and redemption for one receipt. Points are earned only on what the customer pays
 * with money: after other discounts and after the points spent on this receipt.
 */
export function quotePurchase(input: {
  settings: ProgrammeSettings;
  percentBp: number;
  totalKopecks: number;
  discountKopecks: number;
  redeemPoints: number;
  balance: number;
  /** The cap of this store (its partner's), when not the programme's. */
  redeemCapBp?: number;
}): PurchaseQuote {
  const { settings } = input;
  const redeem = int('redeemPoints', input.redeemPoints);
  const maxRedeem = maxRedeemPoints(settings, input.totalKopecks, input.discountKopecks, input.balance, input.redeemCapBp ?? settings.redeemCapBp);
  if (input.redeemPoints > input.balance) {
    throw new DomainError('insufficient_points', `${input.redeemPoints} points requested, balance is ${input.balance}`, {
      requested: input.redeemPoints,
      balance: input.balance,
      maxRedeem,
    });
  }
  if (input.redeemPoints > maxRedeem) {
    throw new DomainError('redeem_limit_exceeded', `at most ${maxRedeem} points can pay for this receipt`, {
      requested: input.redeemPoints,
      maxRedeem,
    });
  }
  const redeemKopecks = redeem * BigInt(settings.pointValueKopecks);
  // Within the cap (≤ 100% of total − discount) this is never negative.
  const base = BigInt(input.totalKopecks) - BigInt(input.discountKopecks) - redeemKopecks;
  const baseKopecks = Number(base);
  return {
    baseKopecks,
    redeemKopecks: Number(redeemKopecks),
    accrued: accrualPoints(baseKopecks, input.percentBp, settings.pointValueKopecks),
    maxRedeem,
  };
}

/**
 * Points to take back (clawback of accrued) and to give back (return of redeemed) for a
 * refund of `amountKopecks`. Shares are rounded on the cumulative refunded amount and the
 * earlier shares subtracted, so any series of partial refunds sums exactly to the accrued
 * and redeemed points, and the refund reaching the full total settles the remainder.
 */
export function refundShares(input: {
  totalKopecks: number;
  accrued: number;
  redeemed: number;
  refundedKopecksBefore: number;
  amountKopecks: number;
  clawedBefore: number;
  returnedBefore: number;
}): { clawback: number; returned: number } {
  const total = int('totalKopecks', input.totalKopecks);
  const accrued = int('accrued', input.accrued);
  const redeemed = int('redeemed', input.redeemed);
  const before = int('refundedKopecksBefore', input.refundedKopecksBefore);
  const clawedBefore = int('clawedBefore', input.clawedBefore);
  const returnedBefore = int('returnedBefore', input.returnedBefore);
  if (!Number.isSafeInteger(input.amountKopecks) || input.amountKopecks <= 0) {
    throw new DomainError('validation_failed', `amountKopecks must be a positive integer, got ${input.amountKopecks}`, { field: 'amountKopecks' });
  }
  const after = before + BigInt(input.amountKopecks);
  if (after > total) {
    throw new DomainError('refund_exceeds_receipt', `refunds would reach ${after} of a ${total} kopecks receipt`, {
      refundableKopecks: Number(total - before > 0n ? total - before : 0n),
    });
  }
  const share = (points: bigint, already: bigint): number => {
    const due = divRoundHalfUp(points * after, total) - already;
    // Earlier shares booked differently than this rule would (e.g. by hand) never turn a refund into a credit.
    return Number(due > 0n ? due : 0n);
  };
  return { clawback: share(accrued, clawedBefore), returned: share(redeemed, returnedBefore) };
}

/**
 * `date` plus `months` calendar months in UTC, keeping the time of day; a day the target
 * month lacks becomes its last day (Aug 31 + 6 months = Feb 28, or 29 in a leap year).
 */
export function addMonths(date: Date, months: number): Date {
  if (Number.isNaN(date.getTime())) throw new DomainError('validation_failed', 'invalid date');
  if (!Number.isSafeInteger(months)) throw new DomainError('validation_failed', `months must be an integer, got ${months}`);
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth() + months;
  // Day 0 of the following month is the last day of month m (Date.UTC normalizes overflow).
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const out = new Date(date.getTime());
  out.setUTCFullYear(y, m, Math.min(date.getUTCDate(), lastDay));
  return out;
}
