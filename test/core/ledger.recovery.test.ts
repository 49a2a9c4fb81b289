import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerStep } from '../../core/ledger/ledger.service.js';
import { newMember, testCore, type TestCore } from '../helpers/core.js';

class InjectedCrash extends Error {}

/**
 * A movement's process "dies" after each step of the write path (the hook throws there, so
 * nothing after it runs: no fold, no retry). The entry, once written, is the commit: the
 * recovery sweep, or the till's retry, then brings the card up to it exactly once, and its
 * events are handed over. Before the entry is written nothing happened at all.
 */
describe('ledger recovery after a crash at each step', () => {
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
    const newest = (await t.core.ledger.history(card, 1))[0];
    expect(c.version).toBe(newest?.seq ?? 0);
  }

  /** Event ids handed over for an entry (the sink is idempotent by id; each must be there). */
  const eventIdsFor = (entryId: string) => new Set(t.events.published.filter((e) => e.type === 'points.changed' && e.data.entryId === entryId).map((e) => e.id));

  const steps: LedgerStep[] = ['entry_inserted', 'events_published', 'card_written'];

  for (const step of steps) {
    it(`a single movement crashed after ${step} is folded in exactly once by the sweep`, async () => {
      const { card } = await newMember(t.core);
      const mv = { key: `adj-${step}`, card: card._id, type: 'adjustment' as const, effect: 'credit' as const, points: 77, ref: { reason: 'test', author: 'qa' } };
      crashAt = { step, key: /^adj-/ };
      await expect(t.core.ledger.apply(mv)).rejects.toBeInstanceOf(InjectedCrash);
      // Committed: the entry is there whatever the card says.
      expect(await t.core.ledger.findByKey(mv.key)).toMatchObject({ card: card._id, seq: 2, amount: 77 });
      const behind = (await t.core.cards.byNumber(card._id))!;
      expect(behind.balance).toBe(step === 'card_written' ? 1077 : 1000);
      const swept = await t.core.recover(new Date(0));
      expect(swept.folded).toBe(step === 'card_written' ? 0 : 1);
      expect((await t.core.cards.byNumber(card._id))!.balance).toBe(1077);
      expect(eventIdsFor(mv.key).size).toBe(1);
      await invariant(card._id);
      // A second pass, or the client's retry, changes nothing.
      expect((await t.core.recover(new Date(0))).folded).toBe(0);
      const retry = await t.core.ledger.apply(mv);
      expect(retry).toMatchObject({ replayed: true, balanceAfter: 1077 });
      await invariant(card._id);
    });

    it(`a purchase with redemption crashed after ${step} completes once, by the till's retry`, async () => {
      const { card } = await newMember(t.core);
      const req = { storeId: 's1', receiptId: `crash-${step}`, cardNumber: card._id, totalKopecks: 200000, redeemPoints: 300 };
      crashAt = { step, key: /^purchase:/ };
      await expect(t.core.purchases.purchase(req)).rejects.toBeInstanceOf(InjectedCrash);
      const expected = 1000 - 300 + 51; // (2,000 − 300) ₽ × 3% = 51
      // The till never heard back and sends the same receipt again: it gets the result, and
      // the card catches up on the way.
      const again = await t.core.purchases.purchase(req);
      expect(again).toMatchObject({ replayed: true, result: { accrued: 51, redeemed: 300, balance: expected } });
      expect((await t.core.cards.byNumber(card._id))!.balance).toBe(expected);
      expect((await t.core.recover(new Date(0))).folded).toBe(0);
      await invariant(card._id);
    });
  }

  it('a refund crashed after its entry was written finishes once, and its shares stay exact', async () => {
    const { card } = await newMember(t.core);
    await t.core.purchases.purchase({ storeId: 's1', receiptId: 'rc-1', cardNumber: card._id, totalKopecks: 100000, redeemPoints: 100 });
    crashAt = { step: 'entry_inserted', key: /^refund:/ };
    await expect(t.core.purchases.refund({ storeId: 's1', refundId: 'rc-r', receiptId: 'rc-1', amountKopecks: 50000 })).rejects.toBeInstanceOf(InjectedCrash);
    expect((await t.core.recover(new Date(0))).folded).toBe(1);
    const c = (await t.core.cards.byNumber(card._id))!;
    // 1,000 − 100 + 27, then half back: −14 (13.5 rounded half up) and +50 returned
    expect(c.balance).toBe(1000 - 100 + 27 - 14 + 50);
    const retry = await t.core.purchases.refund({ storeId: 's1', refundId: 'rc-r', receiptId: 'rc-1', amountKopecks: 50000 });
    expect(retry).toMatchObject({ replayed: true, result: { clawedBack: 14, returned: 50 } });
    // The second half settles the remainder exactly: 27 − 14 and 100 − 50.
    const rest = await t.core.purchases.refund({ storeId: 's1', refundId: 'rc-r2', receiptId: 'rc-1', amountKopecks: 50000 });
    expect(rest.result).toMatchObject({ clawedBack: 13, returned: 50 });
    await invariant(card._id);
  });

  it('a card left behind by a crash is caught up by the next movement on it, in order', async () => {
    const { card } = await newMember(t.core);
    crashAt = { step: 'entry_inserted', key: /^lag-1$/ };
    await expect(t.core.ledger.apply({ key: 'lag-1', card: card._id, type: 'adjustment', effect: 'debit', points: 800 })).rejects.toBeInstanceOf(InjectedCrash);
    // The next movement finds slot 2 taken, waits briefly for its writer, then folds it in itself:
    // the 800 debit counts, so a 300 debit is refused (balance 200), nothing else moves.
    await expect(t.core.ledger.apply({ key: 'lag-2', card: card._id, type: 'adjustment', effect: 'debit', points: 300 })).rejects.toMatchObject({ code: 'insufficient_points' });
    expect((await t.core.cards.byNumber(card._id))!.balance).toBe(200);
    expect(await t.core.ledger.findByKey('lag-2')).toBeNull();
    await invariant(card._id);
  });
});
