import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../core/shared/errors.js';
import { newMember, testCore, type TestCore } from '../helpers/core.js';

/** The programme rules from the shops' case studies, through the real services and database. */
describe('programme rules through the ledger', () => {
  let t: TestCore;
  beforeAll(async () => {
    t = await testCore();
  });
  afterAll(() => t.close());

  it('welcome bonus of 1,000 points on registration, once', async () => {
    const { member, card, bonuses } = await newMember(t.core);
    expect(bonuses.map((b) => [b.type, b.amount])).toEqual([['welcome', 1000]]);
    expect(card.balance).toBe(1000);
    const again = await t.core.members.enroll({ phone: member.phone, name: 'Анна', consent: true, channel: 'telegram', identity: 'telegram:1', proved: true });
    expect(again.created).toBe(false);
    expect(again.card._id).toBe(card._id);
    expect(again.bonuses).toEqual([]);
    expect(await t.core.ledger.appliedSum(card._id)).toBe(1000);
  });

  it('accrues 3% base after redeemed points and discounts, rounded half up', async () => {
    const { card } = await newMember(t.core);
    // 1,000.00 ₽ receipt, 100.00 ₽ discount, 200 points redeemed → base 700.00 ₽ → 3% = 21 points
    const { result } = await t.core.purchases.purchase({ storeId: 's1', receiptId: 'r-base', cardNumber: card._id, totalKopecks: 100000, discountKopecks: 10000, redeemPoints: 200 });
    expect(result).toMatchObject({ accrued: 21, redeemed: 200, balance: 1000 - 200 + 21, level: 'base' });
    // 16.50 ₽ at 3% = 0.495 → 0; 16.67 ₽ → 0.5001 → 1
    expect((await t.core.purchases.purchase({ storeId: 's1', receiptId: 'r-r1', cardNumber: card._id, totalKopecks: 1650 })).result.accrued).toBe(0);
    expect((await t.core.purchases.purchase({ storeId: 's1', receiptId: 'r-r2', cardNumber: card._id, totalKopecks: 1667 })).result.accrued).toBe(1);
  });

  it('5% of a receipt after points (a store configured at 5%)', async () => {
    const s = await t.core.settings.current();
    const levels = s.levels.map((l, i) => (i === 0 ? { ...l, percentBp: 500 } : l));
    await t.core.settings.update({ levels });
    const { card } = await newMember(t.core);
    const { result } = await t.core.purchases.purchase({ storeId: 's1', receiptId: 'r-5pc', cardNumber: card._id, totalKopecks: 250000, redeemPoints: 500 });
    // (2,500 − 500) ₽ × 5% = 100 points
    expect(result.accrued).toBe(100);
    await t.core.settings.update({ levels: s.levels });
  });

  it('level crossing inside one purchase: accrues at the old level, the next purchase at the new', async () => {
    const { card } = await newMember(t.core);
    const first = await t.core.purchases.purchase({ storeId: 's1', receiptId: 'lvl-1', cardNumber: card._id, totalKopecks: 600000 });
    expect(first.result).toMatchObject({ accrued: 180, level: 'silver' }); // 6,000 ₽ × 3%, now ≥ 5,000 spent
    const second = await t.core.purchases.purchase({ storeId: 's1', receiptId: 'lvl-2', cardNumber: card._id, totalKopecks: 100000 });
    expect(second.result.accrued).toBe(50); // 1,000 ₽ × 5%
    const view = t.core.cards.view((await t.core.cards.byNumber(card._id))!, await t.core.settings.current());
    expect(view.level.id).toBe('silver');
    expect(view.next).toMatchObject({ id: 'gold', remainingKopecks: 300000 });
  });

  it('partial refunds take back earned and return spent points in proportion, summing exactly', async () => {
    const { card } = await newMember(t.core);
    // 1,000 ₽, 101 points redeemed → base 899 ₽ → 27 points (26.97)
    const p = await t.core.purchases.purchase({ storeId: 's1', receiptId: 'ref-1', cardNumber: card._id, totalKopecks: 100000, redeemPoints: 101 });
    expect(p.result.accrued).toBe(27);
    const parts = [33333, 33333, 33334];
    const results = [];
    for (const [i, amount] of parts.entries()) {
      results.push((await t.core.purchases.refund({ storeId: 's1', refundId: `rf-${i}`, receiptId: 'ref-1', amountKopecks: amount })).result);
    }
    expect(results.reduce((s, r) => s + r.clawedBack, 0)).toBe(27);
    expect(results.reduce((s, r) => s + r.returned, 0)).toBe(101);
    const after = (await t.core.cards.byNumber(card._id))!;
    expect(after.balance).toBe(1000);
    expect(after.spentKopecks).toBe(0);
    await expect(t.core.purchases.refund({ storeId: 's1', refundId: 'rf-x', receiptId: 'ref-1', amountKopecks: 1 })).rejects.toMatchObject({ code: 'refund_exceeds_receipt' });
  });

  it('a clawback larger than the balance stops at zero, records the shortfall, and the next accrual pays it first', async () => {
    const { card } = await newMember(t.core);
    await t.core.purchases.purchase({ storeId: 's1', receiptId: 'sf-1', cardNumber: card._id, totalKopecks: 1000000 }); // +300
    await t.core.purchases.purchase({ storeId: 's1', receiptId: 'sf-2', cardNumber: card._id, totalKopecks: 130000, redeemPoints: 1300 }); // spend all
    expect((await t.core.cards.byNumber(card._id))!.balance).toBe(0);
    const r = await t.core.purchases.refund({ storeId: 's1', refundId: 'sf-r', receiptId: 'sf-1', amountKopecks: 1000000 });
    expect(r.result).toMatchObject({ clawedBack: 0, shortfall: 300, balance: 0 });
    const next = await t.core.purchases.purchase({ storeId: 's1', receiptId: 'sf-3', cardNumber: card._id, totalKopecks: 1000000 });
    expect(next.result.balance).toBe(0); // 300 earned, all paid to the shortfall
    const more = await t.core.purchases.purchase({ storeId: 's1', receiptId: 'sf-4', cardNumber: card._id, totalKopecks: 100000 });
    expect(more.result.balance).toBe(more.result.accrued);
    const c = (await t.core.cards.byNumber(card._id))!;
    expect(c.debt).toBe(0);
    expect(c.balance).toBe(await t.core.ledger.appliedSum(card._id));
  });

  it('points expire six months after earning, oldest first, and spending takes the oldest lot', async () => {
    t.clock.set(new Date('2026-01-31T12:00:00Z'));
    const { card } = await newMember(t.core); // 1,000 welcome, expires 2026-07-31
    t.clock.set(new Date('2026-03-15T12:00:00Z'));
    await t.core.purchases.purchase({ storeId: 's1', receiptId: 'exp-1', cardNumber: card._id, totalKopecks: 1000000 }); // +300, expires 2026-09-15
    await t.core.purchases.purchase({ storeId: 's1', receiptId: 'exp-2', cardNumber: card._id, totalKopecks: 40000, redeemPoints: 400 }); // spends from the welcome lot
    const view = t.core.cards.view((await t.core.cards.byNumber(card._id))!, await t.core.settings.current());
    expect(view.expiring[0]).toEqual({ date: '2026-07-31', points: 600 });
    t.clock.set(new Date('2026-08-01T00:00:00Z'));
    expect(await t.core.ledger.expireDue()).toBeGreaterThanOrEqual(1);
    const after = (await t.core.cards.byNumber(card._id))!;
    expect(after.balance).toBe(300); // 400 ₽ paid fully in points: base 0, nothing accrued
    expect(after.lots.map((l) => l.remaining)).toEqual([300]);
    expect(await t.core.ledger.expireDue()).toBe(0); // nothing twice
    expect(after.balance).toBe(await t.core.ledger.appliedSum(card._id));
  });

  it('refuses what the rules forbid, changing nothing', async () => {
    const { card } = await newMember(t.core);
    const before = await t.core.ledger.appliedSum(card._id);
    await expect(t.core.purchases.purchase({ storeId: 's1', receiptId: 'bad-1', cardNumber: card._id, totalKopecks: 100000, redeemPoints: 5000 })).rejects.toMatchObject({ code: 'insufficient_points' });
    await expect(t.core.purchases.purchase({ storeId: 's1', receiptId: 'bad-2', cardNumber: card._id, totalKopecks: 50000, redeemPoints: 600 })).rejects.toMatchObject({ code: 'redeem_limit_exceeded' });
    await expect(t.core.purchases.purchase({ storeId: 's1', receiptId: 'bad-3', cardNumber: card._id, totalKopecks: -1 })).rejects.toBeInstanceOf(DomainError);
    await expect(t.core.purchases.purchase({ storeId: 's1', receiptId: 'bad-4', cardNumber: '7100000000000', totalKopecks: 100 })).rejects.toMatchObject({ code: 'invalid_card_number' });
    await t.core.cards.setStatus(card._id, 'blocked');
    await expect(t.core.purchases.purchase({ storeId: 's1', receiptId: 'bad-5', cardNumber: card._id, totalKopecks: 100 })).rejects.toMatchObject({ code: 'card_blocked' });
    await t.core.cards.setStatus(card._id, 'active');
    expect(await t.core.ledger.appliedSum(card._id)).toBe(before);
    // A refused receipt may be sent again (corrected) with the same receipt id.
    const ok = await t.core.purchases.purchase({ storeId: 's1', receiptId: 'bad-1', cardNumber: card._id, totalKopecks: 100000, redeemPoints: 500 });
    expect(ok.result.redeemed).toBe(500);
  });

  it('referral: both get 3,000 when the friend registers by the link; no self-referral; a monthly cap', async () => {
    const s = await t.core.settings.current();
    await t.core.settings.update({ referral: { ...s.referral, monthlyCap: 2 } });
    const host = await newMember(t.core);
    const friends = [];
    for (let i = 0; i < 3; i++) friends.push(await newMember(t.core, { referralCode: host.member.referralCode }));
    expect(friends[0]!.card.balance).toBe(1000 + 3000);
    expect(friends[2]!.card.balance).toBe(1000); // over the cap: the friend still joins, no bonus
    const hostCard = (await t.core.cards.byNumber(host.card._id))!;
    expect(hostCard.balance).toBe(1000 + 2 * 3000);
    expect(await t.core.members.referralStats(String(host.member._id))).toEqual({ invited: 3, points: 6000 });
    // Inviting an existing member gives nothing: the phone is already known.
    const again = await t.core.members.enroll({ phone: friends[0]!.member.phone, name: 'X', consent: true, channel: 'telegram', proved: true, referralCode: host.member.referralCode });
    expect(again.bonuses).toEqual([]);
    // Self-referral: the host following their own link is a known phone too.
    const self = await t.core.members.enroll({ phone: host.member.phone, name: 'X', consent: true, channel: 'telegram', proved: true, referralCode: host.member.referralCode });
    expect(self.bonuses).toEqual([]);
    expect((await t.core.cards.byNumber(host.card._id))!.balance).toBe(7000);
    await t.core.settings.update({ referral: s.referral });
  });
});
