import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purchaseKey } from '../../core/purchases/purchase.types.js';
import { client, PASSWORD, startPanelApp, type PanelApp } from './panel.fixture.js';

/**
 * The web till ("Касса") over HTTP with a signed-in cashier: find a card, accrue, a double
 * post that accrues once, a refund, a cashier of another store refused that store's receipt,
 * and a partner's terms at a partner's store.
 */
let s: PanelApp;
let phoneSeq = 700;
const newPhone = (): string => `+7995${String(phoneSeq++).padStart(7, '0')}`;
beforeAll(async () => {
  s = await startPanelApp({ realClock: true });
});
afterAll(async () => {
  await s.close();
});

async function cashierAt(storeId: string, email: string) {
  await s.core.users.create({ email, password: PASSWORD, role: 'cashier', storeId });
  const c = client(s.app);
  expect((await c.login(email)).statusCode).toBe(303);
  return c;
}
const field = (html: string, name: string): string => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)![1]!;
const attr = (html: string, name: string): string => new RegExp(`${name}>([^<]*)<`).exec(html)![1]!.replace(/\D/g, '');

describe('web till', () => {
  it('a cashier finds a card, accrues once however often the form is sent, refunds; another store cannot touch the receipt', async () => {
    const store = await s.core.admin.createStore('Касса 1');
    const other = await s.core.admin.createStore('Касса 2');
    const member = await s.core.admin.enrol({ phone: newPhone(), name: 'Ирина', consent: true }, 'admin');
    const c = await cashierAt(store.id, 'anna@shop.test');

    const home = await c.get('/admin/till');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('Касса · Касса 1');
    const found = await c.get(`/admin/till?q=${member.cardNumber}`);
    expect(found.body).toContain(`href="/admin/till?card=${member.cardNumber}"`);
    const card = await c.get(`/admin/till?card=${member.cardNumber}`);
    expect(card.body).toContain('data-card-balance>1');
    const receiptId = field(card.body, 'receiptId');
    expect(receiptId).toMatch(/^W[A-Z0-9]{10}$/);

    const form = { store: store.id, card: member.cardNumber, receiptId, total: '1 000,00', discount: '', redeem: '100' };
    const first = await c.post('/admin/till/purchase', form);
    expect(first.statusCode).toBe(201);
    expect(first.body).toContain('data-replayed="no"');
    // (1,000 − 100) ₽ × 3% = 27 points; 1,000 − 100 + 27.
    expect(attr(first.body, 'data-accrued')).toBe('27');
    expect(attr(first.body, 'data-balance')).toBe('927');
    // A double click / a reload sends the same receipt again: the first result, nothing moves.
    const again = await c.post('/admin/till/purchase', form);
    expect(again.statusCode).toBe(200);
    expect(again.body).toContain('data-replayed="yes"');
    expect((await s.core.cards.byNumber(member.cardNumber))?.balance).toBe(927);
    const audit = await s.core.audit.page({ limit: 50, action: 'till.purchase' });
    const entries = audit.items;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'anna@shop.test', target: member.cardNumber });

    // Another store's cashier: its till cannot refund this store's receipt, nor open this store.
    const c2 = await cashierAt(other.id, 'boris@shop.test');
    expect((await c2.get(`/admin/till?store=${store.id}`)).statusCode).toBe(403);
    const page2 = await c2.get(`/admin/till?card=${member.cardNumber}`);
    const foreign = await c2.post('/admin/till/refund', { store: other.id, card: member.cardNumber, refundId: field(page2.body, 'refundId'), refundReceipt: receiptId, amount: '1000' });
    expect(foreign.statusCode).toBe(422);
    expect(foreign.body).toContain('f-refundReceipt-err');
    expect((await s.core.cards.byNumber(member.cardNumber))?.balance).toBe(927);

    // The store's own refund: takes back the 27 earned, gives back the 100 spent.
    const page = await c.get(`/admin/till?card=${member.cardNumber}`);
    const refund = await c.post('/admin/till/refund', { store: store.id, card: member.cardNumber, refundId: field(page.body, 'refundId'), refundReceipt: receiptId, amount: '1000' });
    expect(refund.statusCode).toBe(201);
    expect(attr(refund.body, 'data-clawed')).toBe('27');
    expect(attr(refund.body, 'data-returned')).toBe('100');
    expect(attr(refund.body, 'data-balance')).toBe('1000');
  });

  it("runs a partner's terms at a partner's store and records them; other roles cannot open the till", async () => {
    const partner = await s.core.partners.create({ name: 'Обувь', percentBp: 1000, redeemCapBp: 5000 });
    const store = await s.core.admin.createStore('Обувной', undefined, partner.id);
    const member = await s.core.admin.enrol({ phone: newPhone(), name: 'Пётр', consent: true }, 'admin');
    const c = await cashierAt(store.id, 'vera@shop.test');
    const page = await c.get(`/admin/till?card=${member.cardNumber}`);
    expect(page.body).toContain('здесь начисляется 10%, баллами можно оплатить до 50% чека');
    const over = await c.post('/admin/till/purchase', { store: store.id, card: member.cardNumber, receiptId: field(page.body, 'receiptId'), total: '1000', redeem: '501' });
    expect(over.statusCode).toBe(422);
    expect(over.body).toContain('f-redeem-err');
    const ok = await c.post('/admin/till/purchase', { store: store.id, card: member.cardNumber, receiptId: field(page.body, 'receiptId'), total: '1000', redeem: '500' });
    expect(ok.statusCode).toBe(201);
    expect(attr(ok.body, 'data-accrued')).toBe('50');
    const e = await s.core.ledger.findByKey(purchaseKey(store.id, field(page.body, 'receiptId')));
    expect(e?.purchase).toMatchObject({ partnerId: partner.id, percentBp: 1000, redeemCapBp: 5000 });

    const support = await s.user('support');
    const sc = client(s.app);
    await sc.login(support.email);
    expect((await sc.get('/admin/till')).statusCode).toBe(403);
  });
});
