import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerStep } from '../../core/ledger/ledger.service.js';
import { newMember, testCore, type TestCore } from '../helpers/core.js';

class InjectedCrash extends Error {}

/**
 * A movement interrupted between any two of its writes (a crash injected after each step)
 * is left by the recovery pass as if it had completed: balance = Σ applied entries, nothing
 * pending, nothing applied twice.
 */
describe('ledger recovery after a crash between writes', () => {
  let t: TestCore;
  let crashAt: { step: LedgerStep; key: RegExp } | null = null;
  beforeAll(async () => {
    t = await testCore({
      ledgerHooks: {
        afterStep(step, key) {
          if (crashAt && crashAt.step === step && crashAt.key.test(key)) {
            crashAt = null;
            throw new InjectedCrash(`crash after ${step}`);
          }
        },
      },
    });
  });
  afterAll(() => t.close());

  async function invariant(card: string): Promise<void> {
    const c = (await t.core.cards.byNumber(card))!;
    expect(c.balance).toBe(await t.core.ledger.appliedSum(card));
    expect(c.lots.reduce((s, l) => s + l.remaining, 0)).toBe(c.balance);
    expect(await t.conn.collection('ledger_entries').countDocuments({ card, status: 'pending' })).toBe(0);
  }

  for (const step of ['entry_inserted', 'card_updated'] as const) {
    it(`a single movement crashed after ${step} is completed exactly once by recover()`, async () => {
      const { card } = await newMember(t.core);
      crashAt = { step, key: /^adj-/ };
      await expect(t.core.ledger.apply({ key: `adj-${step}`, card: card._id, type: 'adjustment', effect: 'credit', points: 77, ref: { reason: 'test', author: 'qa' } })).rejects.toBeInstanceOf(InjectedCrash);
      const pending = await t.conn.collection('ledger_entries').findOne({ _id: `adj-${step}` as never });
      expect(pending?.status).toBe('pending');
      // Not yet old enough for the pass: left alone.
      expect((await t.core.recover(30_000)).entries.completed).toBe(0);
      t.clock.advance(60_000);
      expect((await t.core.recover(30_000)).entries).toEqual({ completed: 1, voided: 0, left: 0 });
      expect((await t.core.cards.byNumber(card._id))!.balance).toBe(1077);
      await invariant(card._id);
      // A second pass, or the client's retry, changes nothing.
      await t.core.recover(0);
      const retry = await t.core.ledger.apply({ key: `adj-${step}`, card: card._id, type: 'adjustment', effect: 'credit', points: 77, ref: { reason: 'test', author: 'qa' } });
      expect(retry.replayed).toBe(true);
      expect((await t.core.cards.byNumber(card._id))!.balance).toBe(1077);
    });
  }

  const purchaseSteps: [string, LedgerStep][] = [
    ['redeem', 'entry_inserted'],
    ['redeem', 'card_updated'],
    ['accrue', 'entry_inserted'],
    ['accrue', 'card_updated'],
  ];
  for (const [movement, step] of purchaseSteps) {
    it(`a purchase crashed in its ${movement} movement after ${step} completes once (by recovery, or by the till's retry)`, async () => {
      const { card } = await newMember(t.core);
      const req = { storeId: 's1', receiptId: `crash-${movement}-${step}`, cardNumber: card._id, totalKopecks: 200000, redeemPoints: 300 };
      crashAt = { step, key: new RegExp(`:${movement}$`) };
      await expect(t.core.purchases.purchase(req)).rejects.toBeInstanceOf(InjectedCrash);
      t.clock.advance(60_000);
      const rec = await t.core.recover(30_000);
      expect(rec.purchases).toBe(1);
      const expected = 1000 - 300 + 51; // (2,000 − 300) ₽ × 3% = 51
      expect((await t.core.cards.byNumber(card._id))!.balance).toBe(expected);
      const again = await t.core.purchases.purchase(req);
      expect(again).toMatchObject({ replayed: true, result: { accrued: 51, redeemed: 300, balance: expected } });
      await invariant(card._id);
    });
  }

  it('a refund crashed after its clawback was applied finishes with the return, once', async () => {
    const { card } = await newMember(t.core);
    await t.core.purchases.purchase({ storeId: 's1', receiptId: 'rc-1', cardNumber: card._id, totalKopecks: 100000, redeemPoints: 100 });
    crashAt = { step: 'card_updated', key: /:clawback$/ };
    await expect(t.core.purchases.refund({ storeId: 's1', refundId: 'rc-r', receiptId: 'rc-1', amountKopecks: 50000 })).rejects.toBeInstanceOf(InjectedCrash);
    t.clock.advance(60_000);
    expect((await t.core.recover(30_000)).refunds).toBe(1);
    const c = (await t.core.cards.byNumber(card._id))!;
    // 1,000 − 100 + 27, then half back: −14 (13.5 rounded half up) and +50 returned
    expect(c.balance).toBe(1000 - 100 + 27 - 14 + 50);
    const retry = await t.core.purchases.refund({ storeId: 's1', refundId: 'rc-r', receiptId: 'rc-1', amountKopecks: 50000 });
    expect(retry).toMatchObject({ replayed: true, result: { clawedBack: 14, returned: 50 } });
    await invariant(card._id);
  });

  it('a pending redemption the card can no longer cover is voided, not applied', async () => {
    const { card } = await newMember(t.core);
    crashAt = { step: 'entry_inserted', key: /^spend-/ };
    await expect(t.core.ledger.apply({ key: 'spend-1', card: card._id, type: 'adjustment', effect: 'debit', points: 800 })).rejects.toBeInstanceOf(InjectedCrash);
    await t.core.ledger.apply({ key: 'spend-2', card: card._id, type: 'adjustment', effect: 'debit', points: 900 });
    t.clock.advance(60_000);
    expect((await t.core.recover(30_000)).entries).toEqual({ completed: 0, voided: 1, left: 0 });
    expect((await t.core.cards.byNumber(card._id))!.balance).toBe(100);
    await invariant(card._id);
  });
});
