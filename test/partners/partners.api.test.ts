import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryModel } from '../../core/ledger/entry.model.js';
import { purchaseKey } from '../../core/purchases/purchase.types.js';
import { startTestApi, type TestApi } from '../helpers/api.js';

describe('partners: their terms override the programme at their stores, and purchases record them', () => {
  let t: TestApi;
  let phoneSeq = 3000;
  const newPhone = (): string => `+7998${String(phoneSeq++).padStart(7, '0')}`;
  const expectError = (res: LightMyRequestResponse, status: number, code: string): void => {
    expect({ status: res.statusCode, code: res.json().error?.code }).toEqual({ status, code });
  };
  const admin = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) => t.call(method, `/api/v1/admin${url}`, { token: t.adminToken, ...(body !== undefined ? { body } : {}) });
  const createPartner = async (body: unknown): Promise<string> => {
    const res = await admin('POST', '/partners', body);
    expect(res.statusCode).toBe(201);
    return res.json().id;
  };
  const createStore = async (name: string, partnerId?: string): Promise<{ id: string; key: string }> => {
    const res = await admin('POST', '/stores', { name, ...(partnerId ? { partnerId } : {}) });
    expect(res.statusCode).toBe(201);
    expect(res.json().partnerId).toBe(partnerId ?? null);
    return res.json();
  };
  const enrol = async (key: string): Promise<string> => {
    const res = await t.call('POST', '/api/v1/members', { token: key, body: { phone: newPhone(), name: 'Vera', consent: true } });
    expect(res.statusCode).toBe(201);
    return res.json().cardNumber;
  };
  const buy = (key: string, body: Record<string, unknown>) => t.call('POST', '/api/v1/purchases', { token: key, body });

  beforeAll(async () => {
    t = await startTestApi();
  });
  afterAll(async () => {
    await t.close();
  });

  it('accrues at the partner percent and caps redemption at the partner cap; a store without a partner runs the programme', async () => {
    const partnerId = await createPartner({ name: 'Обувь', percentBp: 1000, redeemCapBp: 5000 });
    const partnerStore = await createStore('Shoe corner', partnerId);
    const plainStore = await createStore('Main hall');
    const card = await enrol(plainStore.key); // 1,000 welcome points

    // Programme: base level 3%.
    const plain = await buy(plainStore.key, { receiptId: 'p-1', cardNumber: card, total: 10_000 });
    expect(plain.statusCode).toBe(201);
    expect(plain.json().accrued).toBe(3);

    // Partner: 10% of 100 ₽ = 10 points.
    const q = await t.call('POST', '/api/v1/purchases/quote', { token: partnerStore.key, body: { cardNumber: card, total: 100_000 } });
    expect(q.statusCode).toBe(200);
    // Cap 50% of 1,000 ₽ = 500 points (the programme's cap would let all 1,003 pay).
    expect(q.json()).toMatchObject({ accrued: 100, maxRedeem: 500, percent: 10 });
    expectError(await buy(partnerStore.key, { receiptId: 'r-over', cardNumber: card, total: 100_000, redeemPoints: 501 }), 422, 'redeem_limit_exceeded');
    const withPartner = await buy(partnerStore.key, { receiptId: 'r-1', cardNumber: card, total: 100_000, redeemPoints: 500 });
    expect(withPartner.statusCode).toBe(201);
    // Accrual on what was paid in money: (1,000 − 500) ₽ × 10% = 50.
    expect(withPartner.json()).toMatchObject({ accrued: 50, redeemed: 500, balance: 1003 - 500 + 50 });

    // The entry records the terms it ran on.
    const Entries = entryModel(t.conn);
    const e = await Entries.findById(purchaseKey(partnerStore.id, 'r-1')).lean();
    expect(e?.purchase).toMatchObject({ partnerId, percentBp: 1000, redeemCapBp: 5000, accrued: 50, redeemPoints: 500 });
    expect(e?.ref.partnerId).toBe(partnerId);
    const p = await Entries.findById(purchaseKey(plainStore.id, 'p-1')).lean();
    expect(p?.purchase).toMatchObject({ partnerId: null, percentBp: 300, redeemCapBp: 10_000 });
    expect(p?.ref.partnerId).toBeUndefined();
  });

  it('per-level percents win over percentBp; "no accrual" is percentBp 0; a refund uses the terms recorded on the receipt', async () => {
    const partnerId = await createPartner({ name: 'Кафе', percentBp: 0, levelPercentBp: { base: 700 } });
    const store = await createStore('Cafe', partnerId);
    const card = await enrol(store.key);
    const first = await buy(store.key, { receiptId: 'c-1', cardNumber: card, total: 20_000 });
    expect(first.json().accrued).toBe(14); // base level: 7% of 200 ₽

    // New terms: no accrual at any level; the old receipt keeps its own.
    const put = await admin('PUT', `/partners/${partnerId}`, { name: 'Кафе', percentBp: 0 });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ percentBp: 0, levelPercentBp: {}, redeemCapBp: null });
    const second = await buy(store.key, { receiptId: 'c-2', cardNumber: card, total: 20_000 });
    expect(second.json().accrued).toBe(0);

    const refund = await t.call('POST', '/api/v1/refunds', { token: store.key, body: { refundId: 'rf-1', receiptId: 'c-1', amount: 20_000 } });
    expect(refund.statusCode).toBe(201);
    // The 14 points the receipt earned at 7% come back out, though the partner now gives 0%.
    expect(refund.json()).toMatchObject({ clawedBack: 14, returned: 0, balance: 1000 });
    const r = await entryModel(t.conn).findById(`refund:${store.id}:rf-1`).lean();
    expect(r?.ref.partnerId).toBe(partnerId);
  });

  it('lists, reads, validates, refuses unknown partners and deletes only a partner without stores', async () => {
    const id = await createPartner({ name: 'Книги', redeemCapBp: 2000 });
    const list = await admin('GET', '/partners');
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((p: { id: string }) => p.id)).toContain(id);
    expect((await admin('GET', `/partners/${id}`)).json()).toMatchObject({ id, name: 'Книги', percentBp: null, redeemCapBp: 2000 });

    expectError(await admin('POST', '/partners', { name: '' }), 400, 'validation_failed');
    expectError(await admin('POST', '/partners', { name: 'X', percentBp: 10_001 }), 400, 'validation_failed');
    expectError(await admin('POST', '/partners', { name: 'X', levelPercentBp: { diamond: 100 } }), 400, 'validation_failed');
    expectError(await admin('POST', '/partners', { name: 'X', colour: 'red' }), 400, 'validation_failed');
    expectError(await admin('GET', '/partners/000000000000000000000000'), 404, 'partner_not_found');
    expectError(await admin('GET', '/partners/nonsense'), 404, 'partner_not_found');
    expectError(await admin('PUT', '/partners/000000000000000000000000', { name: 'Y' }), 404, 'partner_not_found');
    expectError(await admin('POST', '/stores', { name: 'Ghost', partnerId: '000000000000000000000000' }), 404, 'partner_not_found');
    const stores = (await admin('GET', '/stores')).json().items as { name: string }[];
    expect(stores.some((s) => s.name === 'Ghost')).toBe(false);

    await createStore('Bookshop', id);
    const inUse = await admin('DELETE', `/partners/${id}`);
    expectError(inUse, 409, 'partner_in_use');
    expect(inUse.json().error.details).toEqual({ stores: 1 });
    expect((await admin('GET', `/partners/${id}`)).statusCode).toBe(200);

    const lonely = await createPartner({ name: 'Пусто' });
    expect((await admin('DELETE', `/partners/${lonely}`)).statusCode).toBe(204);
    expectError(await admin('GET', `/partners/${lonely}`), 404, 'partner_not_found');
    expectError(await admin('DELETE', `/partners/${lonely}`), 404, 'partner_not_found');
  });
});
