import { describe, expect, it } from 'vitest';
import {
  accrualPoints,
  addMonths,
  levelFor,
  maxRedeemPoints,
  nextLevel,
  quotePurchase,
  refundShares,
} from '../../core/programme/rules.js';
import { DEFAULT_SETTINGS, parseSettings, type ProgrammeSettings } from '../../core/programme/settings.schema.js';
import { DomainError, type ErrorCode } from '../../core/shared/errors.js';

const S = DEFAULT_SETTINGS;
const rub = (r: number): number => Math.round(r * 100);

function codeOf(fn: () => unknown): ErrorCode | 'no error' | 'not a DomainError' {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return err instanceof DomainError ? err.code : 'not a DomainError';
  }
}

function withSettings(patch: Partial<ProgrammeSettings>): ProgrammeSettings {
  return parseSettings({ ...structuredClone(DEFAULT_SETTINGS), ...patch });
}

describe('accrualPoints', () => {
  it.each([
    // base kopecks, bp, point value, points
    [rub(1000), 500, 100, 50],
    [rub(19.9), 500, 100, 1], // 0.995 → 1
    [rub(9.9), 500, 100, 0], // 0.495 → 0
    [rub(10), 500, 100, 1], // exactly 0.5 → 1 (half up)
    [999, 500, 100, 0], // 0.4995 → 0
    [rub(1000), 300, 100, 30],
    [rub(333.33), 300, 100, 10], // 9.9999 → 10
    [rub(1234.56), 1500, 100, 185], // 185.184 → 185
    [0, 2000, 100, 0],
    [rub(1000), 0, 100, 0],
    [rub(1000), 10_000, 100, 1000],
    [rub(1000), 500, 1000, 5], // 1 point = 10 ₽
    [rub(90), 500, 1000, 0], // 0.45 point
    [rub(100), 500, 1000, 1], // 0.5 point → 1
    [rub(1), 10_000, 1, 100], // 1 point = 1 kopeck
  ])('%i kopecks at %i bp, point = %i kopecks → %i', (base, bp, pv, points) => {
    expect(accrualPoints(base, bp, pv)).toBe(points);
  });

  it('defaults to 1 point = 1 ₽', () => {
    expect(accrualPoints(rub(1000), 500)).toBe(50);
  });

  it('stays exact where base × bp passes 2^53', () => {
    // 9007199254740991 × 10000 / 10000 / 100 = 90071992547409.91 → …10
    expect(accrualPoints(Number.MAX_SAFE_INTEGER, 10_000)).toBe(90_071_992_547_410);
    // 0.5 exactly on a huge base: float math would lose the half.
    expect(accrualPoints(9_007_199_254_740_950, 10_000)).toBe(90_071_992_547_410);
    expect(accrualPoints(9_007_199_254_740_900, 5000)).toBe(45_035_996_273_705); // …04.5 → …05
  });

  it.each([
    [-1, 500, 100],
    [1.5, 500, 100],
    [100, -1, 100],
    [100, 10_001, 100],
    [100, 500, 0],
    [Number.NaN, 500, 100],
  ])('rejects base %s, bp %s, point value %s', (base, bp, pv) => {
    expect(codeOf(() => accrualPoints(base, bp, pv))).toBe('validation_failed');
  });
});

describe('levels', () => {
  it.each([
    [0, 'base', 300],
    [rub(4999.99), 'base', 300],
    [rub(5000), 'silver', 500], // exactly 5,000 ₽
    [rub(9999.99), 'silver', 500],
    [rub(10_000), 'gold', 1000],
    [rub(14_999.99), 'gold', 1000],
    [rub(15_000), 'platinum', 1500],
    [rub(39_999.99), 'platinum', 1500],
    [rub(40_000), 'vip', 2000],
    [rub(10_000_000), 'vip', 2000],
    [-100, 'base', 300],
  ])('spend %i kopecks → %s (%i bp)', (spend, id, bp) => {
    const level = levelFor(S, spend);
    expect(level).toMatchObject({ id, percentBp: bp, manual: false });
    expect(level.minSpendKopecks).toBeLessThanOrEqual(Math.max(0, spend));
  });

  it.each([
    [0, 'silver', rub(5000)],
    [rub(4999.99), 'silver', 1],
    [rub(5000), 'gold', rub(5000)],
    [rub(12_345), 'platinum', rub(2655)],
    [rub(39_999.99), 'vip', 1],
  ])('next level from %i kopecks is %s, %i kopecks away', (spend, id, remaining) => {
    const next = nextLevel(S, spend);
    expect(next?.level.id).toBe(id);
    expect(next?.remainingKopecks).toBe(remaining);
  });

  it('has no next level at the top', () => {
    expect(nextLevel(S, rub(40_000))).toBeNull();
    expect(nextLevel(S, rub(1_000_000))).toBeNull();
  });

  it('lets a manual level win over spend', () => {
    expect(levelFor(S, 0, 'staff')).toEqual({ id: 'staff', name: { ru: 'Сотрудник', en: 'Staff' }, percentBp: 2000, minSpendKopecks: null, manual: true });
    expect(levelFor(S, rub(50_000), 'staff').id).toBe('staff');
    // An admin may pin a spend level by hand too, also below or above what spend gives.
    expect(levelFor(S, 0, 'gold')).toMatchObject({ id: 'gold', percentBp: 1000, manual: false });
    expect(levelFor(S, rub(50_000), 'silver').id).toBe('silver');
  });

  it('falls back to spend when the manual level is unset or no longer exists', () => {
    expect(levelFor(S, rub(5000), null).id).toBe('silver');
    expect(levelFor(S, rub(5000), undefined).id).toBe('silver');
    expect(levelFor(S, rub(5000), '').id).toBe('silver');
    expect(levelFor(S, rub(5000), 'removed-level').id).toBe('silver');
  });

  it('follows the settings it is given', () => {
    const two = withSettings({
      levels: [
        { id: 'a', name: { ru: 'А', en: 'A' }, percentBp: 100, minSpendKopecks: 0 },
        { id: 'b', name: { ru: 'Б', en: 'B' }, percentBp: 700, minSpendKopecks: 1 },
      ],
    });
    expect(levelFor(two, 0).id).toBe('a');
    expect(levelFor(two, 1).id).toBe('b');
    expect(nextLevel(two, 0)).toMatchObject({ level: { id: 'b' }, remainingKopecks: 1 });
  });
});

describe('maxRedeemPoints', () => {
  const half = withSettings({ redeemCapBp: 5000 });
  it.each([
    // settings, total, discount, balance, max
    [S, rub(1000), 0, 5000, 1000],
    [S, rub(1000), 0, 300, 300],
    [S, rub(1000), rub(200), 5000, 800],
    [S, rub(199.9), 0, 5000, 199], // floor: a part of a point cannot be paid
    [S, rub(1000), rub(1000), 5000, 0],
    [S, rub(1000), 0, 0, 0],
    [S, rub(1000), 0, -50, 0], // a balance in debt pays nothing
    [half, rub(1000), 0, 5000, 500],
    [half, rub(1000), rub(200), 5000, 400],
    [half, rub(999.99), 0, 5000, 499],
    [withSettings({ redeemCapBp: 0 }), rub(1000), 0, 5000, 0],
    [withSettings({ pointValueKopecks: 1000 }), rub(1000), 0, 5000, 100],
  ])('cap on %#', (settings, total, discount, balance, max) => {
    expect(maxRedeemPoints(settings, total, discount, balance)).toBe(max);
  });

  it('refuses a discount above the total', () => {
    expect(codeOf(() => maxRedeemPoints(S, 100, 101, 10))).toBe('validation_failed');
  });
});

describe('quotePurchase', () => {
  const q = (over: Partial<Parameters<typeof quotePurchase>[0]>) =>
    quotePurchase({ settings: S, percentBp: 500, totalKopecks: rub(1000), discountKopecks: 0, redeemPoints: 0, balance: 0, ...over });

  it.each([
    // 5% of 1000 ₽ with nothing else
    [{}, { baseKopecks: rub(1000), redeemKopecks: 0, accrued: 50, maxRedeem: 0 }],
    // 200 points pay 200 ₽: accrual on the 800 ₽ paid with money
    [{ redeemPoints: 200, balance: 500 }, { baseKopecks: rub(800), redeemKopecks: rub(200), accrued: 40, maxRedeem: 500 }],
    // a 100 ₽ discount and 100 points: accrual on 800 ₽
    [{ discountKopecks: rub(100), redeemPoints: 100, balance: 5000 }, { baseKopecks: rub(800), redeemKopecks: rub(100), accrued: 40, maxRedeem: 900 }],
    // points pay all of it: nothing to accrue on
    [{ redeemPoints: 1000, balance: 1000 }, { baseKopecks: 0, redeemKopecks: rub(1000), accrued: 0, maxRedeem: 1000 }],
    // rounding after redemption: 19.90 ₽ − 10 points = 9.90 ₽ at 5% = 0.495 → 0
    [{ totalKopecks: rub(19.9), redeemPoints: 10, balance: 10 }, { baseKopecks: rub(9.9), redeemKopecks: rub(10), accrued: 0, maxRedeem: 10 }],
    [{ totalKopecks: rub(19.9) }, { baseKopecks: rub(19.9), redeemKopecks: 0, accrued: 1, maxRedeem: 0 }],
    // the member's level percent is what the caller passes
    [{ percentBp: 2000, redeemPoints: 500, balance: 600 }, { baseKopecks: rub(500), redeemKopecks: rub(500), accrued: 100, maxRedeem: 600 }],
  ])('%j', (over, expected) => {
    expect(q(over)).toEqual(expected);
  });

  it('accrues less than it would without redemption (never on points)', () => {
    const plain = q({ balance: 300 });
    const redeemed = q({ balance: 300, redeemPoints: 300 });
    expect(plain.accrued).toBe(50);
    expect(redeemed.accrued).toBe(35);
  });

  it.each([
    [{ discountKopecks: rub(1000.01) }, 'validation_failed'],
    [{ redeemPoints: -1, balance: 10 }, 'validation_failed'],
    [{ redeemPoints: 1.5, balance: 10 }, 'validation_failed'],
    [{ totalKopecks: -1 }, 'validation_failed'],
    [{ redeemPoints: 11, balance: 10 }, 'insufficient_points'],
    [{ redeemPoints: 1001, balance: 5000 }, 'redeem_limit_exceeded'],
    [{ discountKopecks: rub(500), redeemPoints: 501, balance: 5000 }, 'redeem_limit_exceeded'],
    [{ settings: withSettings({ redeemCapBp: 3000 }), redeemPoints: 301, balance: 5000 }, 'redeem_limit_exceeded'],
  ] as const)('%j → %s', (over, code) => {
    expect(codeOf(() => q(over))).toBe(code);
  });

  it('accepts exactly the cap and tells the cap when refusing', () => {
    const capped = withSettings({ redeemCapBp: 3000 });
    expect(q({ settings: capped, redeemPoints: 300, balance: 5000 }).baseKopecks).toBe(rub(700));
    try {
      q({ settings: capped, redeemPoints: 301, balance: 5000 });
      expect.unreachable();
    } catch (err) {
      expect((err as DomainError).details).toMatchObject({ maxRedeem: 300, requested: 301 });
    }
  });
});

describe('refundShares', () => {
  type Receipt = { totalKopecks: number; accrued: number; redeemed: number };

  /** Applies refunds one after another, keeping the running totals the way the ledger would. */
  function refundAll(r: Receipt, amounts: number[]): { clawbacks: number[]; returns: number[] } {
    let refunded = 0;
    let clawed = 0;
    let returned = 0;
    const clawbacks: number[] = [];
    const returns: number[] = [];
    for (const amountKopecks of amounts) {
      const s = refundShares({ ...r, refundedKopecksBefore: refunded, amountKopecks, clawedBefore: clawed, returnedBefore: returned });
      refunded += amountKopecks;
      clawed += s.clawback;
      returned += s.returned;
      clawbacks.push(s.clawback);
      returns.push(s.returned);
    }
    return { clawbacks, returns };
  }
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

  it('a full refund takes back everything at once', () => {
    expect(refundShares({ totalKopecks: rub(1000), accrued: 40, redeemed: 200, refundedKopecksBefore: 0, amountKopecks: rub(1000), clawedBefore: 0, returnedBefore: 0 })).toEqual({
      clawback: 40,
      returned: 200,
    });
  });

  it('three refunds of a third each sum exactly', () => {
    const r = { totalKopecks: rub(1000), accrued: 100, redeemed: 50 };
    const { clawbacks, returns } = refundAll(r, [33_333, 33_333, 33_334]);
    // 33.333 → 33; 66.666 → 67 (−33 = 34); 100 (−67 = 33)
    expect(clawbacks).toEqual([33, 34, 33]);
    // 16.6665 → 17; 33.333 → 33 (−17 = 16); 50 (−33 = 17)
    expect(returns).toEqual([17, 16, 17]);
  });

  it('small amounts do not vanish in per-refund rounding', () => {
    // Rounding each third alone would give 0 + 0 + 0 of the single point.
    const { clawbacks, returns } = refundAll({ totalKopecks: 300, accrued: 1, redeemed: 2 }, [100, 100, 100]);
    expect(clawbacks).toEqual([0, 1, 0]);
    expect(returns).toEqual([1, 0, 1]);
  });

  it('any series of partial refunds sums to accrued and redeemed, and stops short when the total is not reached', () => {
    // A deterministic pseudo-random walk over many receipts and partitions.
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let k = 0; k < 300; k++) {
      const total = 1 + next(500_000);
      const r = { totalKopecks: total, accrued: next(5000), redeemed: next(5000) };
      const amounts: number[] = [];
      let left = total;
      while (left > 0) {
        const a = Math.min(left, 1 + next(Math.max(1, Math.floor(total / 3))));
        amounts.push(a);
        left -= a;
      }
      const { clawbacks, returns } = refundAll(r, amounts);
      expect(sum(clawbacks)).toBe(r.accrued);
      expect(sum(returns)).toBe(r.redeemed);
      for (const c of [...clawbacks, ...returns]) expect(c).toBeGreaterThanOrEqual(0);
      if (amounts.length > 1) {
        const partial = refundAll(r, amounts.slice(0, -1));
        // Each prefix is within a point of the exact proportional share.
        const share = (r.accrued * (total - amounts.at(-1)!)) / total;
        expect(Math.abs(sum(partial.clawbacks) - share)).toBeLessThanOrEqual(0.5);
      }
    }
  });

  it('settles the remainder exactly even when earlier shares were booked differently', () => {
    const s = refundShares({ totalKopecks: 1000, accrued: 10, redeemed: 10, refundedKopecksBefore: 500, amountKopecks: 500, clawedBefore: 3, returnedBefore: 9 });
    expect(s).toEqual({ clawback: 7, returned: 1 });
    // More already clawed than due never turns into a credit.
    expect(refundShares({ totalKopecks: 1000, accrued: 10, redeemed: 10, refundedKopecksBefore: 0, amountKopecks: 100, clawedBefore: 5, returnedBefore: 5 })).toEqual({ clawback: 0, returned: 0 });
  });

  it.each([
    [{ refundedKopecksBefore: 900, amountKopecks: 101 }, 'refund_exceeds_receipt'],
    [{ refundedKopecksBefore: 1000, amountKopecks: 1 }, 'refund_exceeds_receipt'],
    [{ refundedKopecksBefore: 0, amountKopecks: 1001 }, 'refund_exceeds_receipt'],
    [{ totalKopecks: 0, refundedKopecksBefore: 0, amountKopecks: 1 }, 'refund_exceeds_receipt'],
    [{ refundedKopecksBefore: 0, amountKopecks: 0 }, 'validation_failed'],
    [{ refundedKopecksBefore: 0, amountKopecks: -10 }, 'validation_failed'],
    [{ refundedKopecksBefore: 0, amountKopecks: 0.5 }, 'validation_failed'],
    [{ refundedKopecksBefore: -1, amountKopecks: 10 }, 'validation_failed'],
    [{ refundedKopecksBefore: 900, amountKopecks: 100 }, 'no error'],
  ] as const)('%j → %s', (over, code) => {
    expect(codeOf(() => refundShares({ totalKopecks: 1000, accrued: 10, redeemed: 0, clawedBefore: 0, returnedBefore: 0, ...over }))).toBe(code);
  });
});

describe('addMonths', () => {
  const d = (iso: string): Date => new Date(iso);
  it.each([
    ['2025-08-31T10:00:00.000Z', 6, '2026-02-28T10:00:00.000Z'],
    ['2023-08-31T10:00:00.000Z', 6, '2024-02-29T10:00:00.000Z'], // leap year
    ['2025-01-31T00:00:00.000Z', 1, '2025-02-28T00:00:00.000Z'],
    ['2025-03-31T12:00:00.000Z', 1, '2025-04-30T12:00:00.000Z'],
    ['2025-03-31T12:00:00.000Z', -1, '2025-02-28T12:00:00.000Z'],
    ['2025-12-15T08:30:00.000Z', 1, '2026-01-15T08:30:00.000Z'],
    ['2025-07-15T08:30:00.000Z', 6, '2026-01-15T08:30:00.000Z'],
    ['2024-02-29T00:00:00.000Z', 12, '2025-02-28T00:00:00.000Z'],
    ['2024-02-29T00:00:00.000Z', 48, '2028-02-29T00:00:00.000Z'],
    ['2025-08-31T23:30:00.000Z', 6, '2026-02-28T23:30:00.000Z'], // late in the UTC day
    ['2025-05-10T00:00:00.000Z', 0, '2025-05-10T00:00:00.000Z'],
    ['2025-05-10T00:00:00.000Z', 120, '2035-05-10T00:00:00.000Z'],
  ])('%s + %i months = %s', (from, months, to) => {
    expect(addMonths(d(from), months).toISOString()).toBe(to);
  });

  it('does not change its argument', () => {
    const from = d('2025-08-31T10:00:00.000Z');
    addMonths(from, 6);
    expect(from.toISOString()).toBe('2025-08-31T10:00:00.000Z');
  });

  it('refuses fractional months and invalid dates', () => {
    expect(codeOf(() => addMonths(new Date(), 1.5))).toBe('validation_failed');
    expect(codeOf(() => addMonths(new Date('nope'), 1))).toBe('validation_failed');
  });
});
