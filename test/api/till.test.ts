import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCardNumber } from '../../core/cards/card-number.js';
import { cardModel } from '../../core/cards/card.model.js';
import { entryModel } from '../../core/ledger/entry.model.js';
import { memberModels } from '../../core/members/member.model.js';
import { startTestApi, type TestApi } from '../helpers/api.js';

const WELCOME = 1000;

describe('till API', () => {
  let t: TestApi;
  let key: string;
  let otherKey: string;
  let phoneSeq = 1000;
  /** A fresh valid Russian mobile number per call. */
  const newPhone = (): string => `+7999${String(phoneSeq++).padStart(7, '0')}`;

  const createStore = async (name: string, cardPrefix?: string): Promise<{ id: string; key: string }> => {
    const res = await t.call('POST', '/api/v1/admin/stores', { token: t.adminToken, body: { name, ...(cardPrefix ? { cardPrefix } : {}) } });
    expect(res.statusCode).toBe(201);
    return res.json();
  };
  const enrol = async (phone = newPhone(), name = 'Anna'): Promise<{ cardNumber: string; memberId: string; phone: string }> => {
    const res = await t.call('POST', '/api/v1/members', { token: key, body: { phone, name, consent: true } });
    expect(res.statusCode).toBe(201);
    const body: { cardNumber: string; memberId: string } = res.json();
    return { cardNumber: body.cardNumber, memberId: body.memberId, phone };
  };
  const balanceOf = async (cardNumber: string): Promise<number> => {
    const res = await t.call('GET', `/api/v1/cards/${cardNumber}`, { token: key });
    expect(res.statusCode).toBe(200);
    return res.json().balance;
  };
  const expectError = (res: LightMyRequestResponse, status: number, code: string): void => {
    expect({ status: res.statusCode, code: res.json().error?.code }).toEqual({ status, code });
    expect(typeof res.json().error.message).toBe('string');
  };

  beforeAll(async () => {
    t = await startTestApi();
    key = (await createStore('Corner shop', 'AB')).key;
    otherKey = (await createStore('Second shop')).key;
  });
  afterAll(async () => {
    await t.close();
  });

  describe('authentication', () => {
    it('refuses a missing, malformed or unknown store key with 401 unauthorized', async () => {
      const { cardNumber } = await enrol();
      const missing = await t.call('GET', `/api/v1/cards/${cardNumber}`);
      expectError(missing, 401, 'unauthorized');
      expect(missing.headers['www-authenticate']).toBe('Bearer');
      expectError(await t.call('GET', `/api/v1/cards/${cardNumber}`, { token: 'sk_not-a-key' }), 401, 'unauthorized');
      expectError(
        await t.app.inject({ method: 'GET', url: `/api/v1/cards/${cardNumber}`, headers: { authorization: `Basic ${key}` } }),
        401,
        'unauthorized',
      );
      // The admin token is not a store key, and a store key is not the admin token.
      expectError(await t.call('GET', `/api/v1/cards/${cardNumber}`, { token: t.adminToken }), 401, 'unauthorized');
      expectError(await t.call('GET', '/api/v1/admin/settings', { token: key }), 401, 'unauthorized');
      expectError(await t.call('GET', '/api/v1/admin/settings', { token: `${t.adminToken}x` }), 401, 'unauthorized');
      expectError(await t.call('POST', '/api/v1/purchases', { body: { receiptId: 'x', cardNumber, total: 100 } }), 401, 'unauthorized');
    });

    it('store keys rotate (the old one stops now, or after a grace period) and are revoked at once', async () => {
      const store = await createStore('Rotating shop');
      const { cardNumber } = await enrol();
      const lookUp = (token: string) => t.call('GET', `/api/v1/cards/${cardNumber}`, { token });
      expect((await lookUp(store.key)).statusCode).toBe(200);

      // A till's key leaked: the admin revokes every key of the store; nothing works until a rotation.
      const revoked = await t.call('DELETE', `/api/v1/admin/stores/${store.id}/keys`, { token: t.adminToken });
      expect(revoked.json()).toEqual({ storeId: store.id, revoked: 1 });
      expectError(await lookUp(store.key), 401, 'unauthorized');
      const rotated = await t.call('POST', `/api/v1/admin/stores/${store.id}/keys`, { token: t.adminToken, body: {} });
      expect(rotated.statusCode).toBe(201);
      const k2 = rotated.json().key as string;
      expect(rotated.json()).toMatchObject({ storeId: store.id, keyHint: k2.slice(0, 7), previousValidUntil: null });
      expect((await lookUp(k2)).statusCode).toBe(200);
      expectError(await lookUp(store.key), 401, 'unauthorized');

      // A planned rotation: the old key keeps working for the grace period, next to the new one.
      const planned = await t.call('POST', `/api/v1/admin/stores/${store.id}/keys`, { token: t.adminToken, body: { graceMinutes: 60 } });
      const k3 = planned.json().key as string;
      expect(new Date(planned.json().previousValidUntil as string).getTime()).toBeGreaterThan(Date.now() + 59 * 60_000);
      expect((await lookUp(k2)).statusCode).toBe(200);
      expect((await lookUp(k3)).statusCode).toBe(200);
      const list = (await t.call('GET', '/api/v1/admin/stores', { token: t.adminToken })).json().items as { id: string; keyHint: string }[];
      expect(list.find((s2) => s2.id === store.id)?.keyHint).toBe(k3.slice(0, 7));
      // The raw keys are stored nowhere.
      for (const k of [store.key, k2, k3]) expect(JSON.stringify(await t.conn.collection('store_keys').find({}).toArray())).not.toContain(k);

      expectError(await t.call('POST', '/api/v1/admin/stores/000000000000000000000000/keys', { token: t.adminToken, body: {} }), 404, 'store_not_found');
      expectError(await t.call('POST', `/api/v1/admin/stores/${store.id}/keys`, { token: t.adminToken, body: { graceMinutes: 100_000 } }), 400, 'validation_failed');
      // Only the admin token rotates keys, never a store key.
      expectError(await t.call('POST', `/api/v1/admin/stores/${store.id}/keys`, { token: k3, body: {} }), 401, 'unauthorized');
    });

    it('an unknown route is a JSON 404 not_found', async () => {
      expectError(await t.call('GET', '/api/v1/nope', { token: key }), 404, 'not_found');
    });
  });

  describe('enrolment at the counter', () => {
    it('creates a member with a card of the store prefix and the welcome bonus; the same phone again is 200 created:false', async () => {
      const phone = newPhone();
      const first = await t.call('POST', '/api/v1/members', { token: key, body: { phone, name: '  Ivan  Petrov ', consent: true } });
      expect(first.statusCode).toBe(201);
      expect(first.json()).toMatchObject({ balance: WELCOME, created: true });
      expect(first.json().cardNumber).toMatch(/^AB\d{12}$/);
      // The till showed no consent text: what is recorded is that the cashier took consent, at the till, for which version.
      const member = await t.core.members.byId(first.json().memberId as string);
      expect(member?.consent).toMatchObject({ version: (await t.core.settings.current()).consentTextVersion, channel: 'till', by: 'cashier' });
      // Typed the Russian way: the same person.
      const national = `8 ${phone.slice(2, 5)} ${phone.slice(5, 8)}-${phone.slice(8, 10)}-${phone.slice(10)}`;
      const again = await t.call('POST', '/api/v1/members', { token: otherKey, body: { phone: national, name: 'Someone', consent: true } });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ ...first.json(), created: false });
    });

    it('refuses a missing consent (422 consent_required), a bad phone (400 phone_invalid), bad fields (400 validation_failed)', async () => {
      expectError(await t.call('POST', '/api/v1/members', { token: key, body: { phone: newPhone(), name: 'A', consent: false } }), 422, 'consent_required');
      expectError(await t.call('POST', '/api/v1/members', { token: key, body: { phone: '12345', name: 'A', consent: true } }), 400, 'phone_invalid');
      expectError(await t.call('POST', '/api/v1/members', { token: key, body: { phone: newPhone(), name: 'A', consent: 'yes' } }), 400, 'validation_failed');
      expectError(
        await t.call('POST', '/api/v1/members', { token: key, body: { phone: newPhone(), name: 'A', consent: true, vip: true } }),
        400,
        'validation_failed',
      );
      expectError(await t.call('POST', '/api/v1/members', { token: key, body: { phone: newPhone(), name: '   ', consent: true } }), 400, 'validation_failed');
    });

    it('a member the programme blocked cannot enrol again: 403 forbidden', async () => {
      const m = await enrol();
      await memberModels(t.conn).Members.updateOne({ phone: m.phone }, { $set: { status: 'blocked' } });
      expectError(await t.call('POST', '/api/v1/members', { token: key, body: { phone: m.phone, name: 'A', consent: true } }), 403, 'forbidden');
    });
  });

  describe('look-ups', () => {
    it('finds a card by number (as typed) and by phone, with level, next level and expiring points', async () => {
      const m = await enrol(newPhone(), 'Maria');
      const res = await t.call('GET', `/api/v1/cards/${m.cardNumber}`, { token: key });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({
        number: m.cardNumber,
        name: 'Maria',
        balance: WELCOME,
        level: { id: 'base', name: 'Базовый', percent: 3 },
        nextLevel: { id: 'silver', percent: 5, remaining: 500_000 },
      });
      expect(body.maskedPhone).toBe(`+7 *** ***-${m.phone.slice(-4, -2)}-${m.phone.slice(-2)}`);
      expect(body.expiring).toHaveLength(1);
      expect(body.expiring[0].points).toBe(WELCOME);
      expect(body.expiring[0].date).toMatch(/^\d{4}-\d{2}-\d{2}$/);

      const typed = `${m.cardNumber.slice(0, 4)} ${m.cardNumber.slice(4, 8)}-${m.cardNumber.slice(8)}`.toLowerCase();
      const again = await t.call('GET', `/api/v1/cards/${encodeURIComponent(typed)}`, { token: key, headers: { 'accept-language': 'en-US,en;q=0.9' } });
      expect(again.statusCode).toBe(200);
      expect(again.json().level.name).toBe('Base');

      const byPhone = await t.call('GET', `/api/v1/cards?phone=${encodeURIComponent(m.phone)}`, { token: key });
      expect(byPhone.statusCode).toBe(200);
      expect(byPhone.json()).toEqual(body);
      const national = await t.call('GET', `/api/v1/cards?phone=8${m.phone.slice(2)}`, { token: key });
      expect(national.json().number).toBe(m.cardNumber);
    });

    it('answers invalid_card_number (400) before looking, card_not_found (404) for unknown cards and phones', async () => {
      const m = await enrol();
      const last = Number(m.cardNumber.slice(-1));
      const mistyped = m.cardNumber.slice(0, -1) + String((last + 1) % 10);
      expectError(await t.call('GET', `/api/v1/cards/${mistyped}`, { token: key }), 400, 'invalid_card_number');
      expectError(await t.call('GET', '/api/v1/cards/hello', { token: key }), 400, 'invalid_card_number');
      expectError(await t.call('GET', `/api/v1/cards/${generateCardNumber('70')}`, { token: key }), 404, 'card_not_found');
      expectError(await t.call('GET', `/api/v1/cards?phone=${encodeURIComponent(newPhone())}`, { token: key }), 404, 'card_not_found');
      expectError(await t.call('GET', '/api/v1/cards?phone=123', { token: key }), 400, 'phone_invalid');
      expectError(await t.call('GET', '/api/v1/cards', { token: key }), 400, 'validation_failed');
      expectError(await t.call('GET', `/api/v1/cards?phone=${encodeURIComponent(m.phone)}&x=1`, { token: key }), 400, 'validation_failed');
    });

    it('a blocked card answers 423 card_blocked everywhere, and works again once unblocked', async () => {
      const m = await enrol();
      const block = await t.call('POST', `/api/v1/admin/cards/${m.cardNumber}/block`, { token: t.adminToken });
      expect(block.json()).toEqual({ number: m.cardNumber, status: 'blocked' });
      expectError(await t.call('GET', `/api/v1/cards/${m.cardNumber}`, { token: key }), 423, 'card_blocked');
      expectError(
        await t.call('POST', '/api/v1/purchases', { token: key, body: { receiptId: `blocked-${m.cardNumber}`, cardNumber: m.cardNumber, total: 10_000 } }),
        423,
        'card_blocked',
      );
      expect(await entryModel(t.conn).countDocuments({ card: m.cardNumber, type: 'purchase' })).toBe(0);
      expect((await t.call('POST', `/api/v1/admin/cards/${m.cardNumber}/unblock`, { token: t.adminToken })).statusCode).toBe(200);
      expect(await balanceOf(m.cardNumber)).toBe(WELCOME);
    });

    it('a replaced card answers 410 card_replaced', async () => {
      const m = await enrol();
      const successor = await enrol();
      // No API replaces cards yet; the state is set the way a replacement would leave it.
      await cardModel(t.conn).updateOne({ _id: m.cardNumber }, { $set: { status: 'replaced', replacedBy: successor.cardNumber } });
      const res = await t.call('GET', `/api/v1/cards/${m.cardNumber}`, { token: key });
      expectError(res, 410, 'card_replaced');
      expect(res.json().error.details).toEqual({ replacedBy: successor.cardNumber });
    });
  });

  describe('quote', () => {
    it('prices a receipt and changes nothing', async () => {
      const m = await enrol();
      const entriesBefore = await entryModel(t.conn).countDocuments({});
      const res = await t.call('POST', '/api/v1/purchases/quote', { token: key, body: { cardNumber: m.cardNumber, total: 150_000, discount: 10_000, redeemPoints: 400 } });
      expect(res.statusCode).toBe(200);
      // 3% of (1500 − 100 − 400) ₽ = 30 points; the cap is the whole 1400 ₽, the balance 1000 points.
      expect(res.json()).toEqual({ accrued: 30, maxRedeem: WELCOME, balance: WELCOME, level: 'base', percent: 3 });
      const byPhone = await t.call('POST', '/api/v1/purchases/quote', { token: key, body: { phone: m.phone, total: 150_000 } });
      expect(byPhone.json()).toMatchObject({ accrued: 45, maxRedeem: WELCOME });
      expect(await entryModel(t.conn).countDocuments({})).toBe(entriesBefore);
      expect(await balanceOf(m.cardNumber)).toBe(WELCOME);
    });

    it('refuses what a purchase would refuse', async () => {
      const m = await enrol();
      const quote = (body: Record<string, unknown>) => t.call('POST', '/api/v1/purchases/quote', { token: key, body: { cardNumber: m.cardNumber, ...body } });
      expectError(await quote({ total: 500_000, redeemPoints: WELCOME + 1 }), 422, 'insufficient_points');
      // 5 ₽ can be paid with at most 5 points.
      const limited = await quote({ total: 500, redeemPoints: 10 });
      expectError(limited, 422, 'redeem_limit_exceeded');
      expect(limited.json().error.details).toMatchObject({ maxRedeem: 5 });
      expectError(await quote({ total: 100, discount: 200 }), 400, 'validation_failed');
      expectError(await t.call('POST', '/api/v1/purchases/quote', { token: key, body: { cardNumber: m.cardNumber, phone: m.phone, total: 100 } }), 400, 'validation_failed');
      expectError(await t.call('POST', '/api/v1/purchases/quote', { token: key, body: { total: 100 } }), 400, 'validation_failed');
    });
  });

  describe('purchases', () => {
    it('201 records once; the same receipt and body again is 200 with the same result; another body is 409', async () => {
      const m = await enrol();
      const body = { receiptId: `r-${m.cardNumber}`, cardNumber: m.cardNumber, total: 250_000, discount: 50_000, redeemPoints: 200, items: [{ sku: 'A1', qty: 2 }] };
      const first = await t.call('POST', '/api/v1/purchases', { token: key, body });
      expect(first.statusCode).toBe(201);
      // 3% of (2500 − 500 − 200) ₽ = 54 points.
      expect(first.json()).toMatchObject({ accrued: 54, redeemed: 200, balance: WELCOME - 200 + 54, level: 'base' });
      expect(first.headers['idempotent-replayed']).toBeUndefined();

      const replay = await t.call('POST', '/api/v1/purchases', { token: key, body });
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toEqual(first.json());
      expect(replay.headers['idempotent-replayed']).toBe('true');
      // By phone it is the same card, so the same receipt.
      const viaPhone = await t.call('POST', '/api/v1/purchases', { token: key, body: { ...body, cardNumber: undefined, phone: m.phone } });
      expect(viaPhone.statusCode).toBe(200);

      expectError(await t.call('POST', '/api/v1/purchases', { token: key, body: { ...body, total: 250_001 } }), 409, 'idempotency_conflict');
      expect(await balanceOf(m.cardNumber)).toBe(WELCOME - 200 + 54);
      // Receipt ids are per store: another store's receipt with the same id is another purchase.
      const other = await t.call('POST', '/api/v1/purchases', { token: otherKey, body });
      expect(other.statusCode).toBe(201);
      expect(other.json().purchaseId).not.toBe(first.json().purchaseId);
    });

    it('a refused purchase records nothing, so the receipt can be sent again', async () => {
      const m = await enrol();
      const receiptId = `refused-${m.cardNumber}`;
      const send = (extra: Record<string, unknown>) =>
        t.call('POST', '/api/v1/purchases', { token: key, body: { receiptId, cardNumber: m.cardNumber, total: 100_000, ...extra } });
      expectError(await send({ redeemPoints: WELCOME + 5 }), 422, 'insufficient_points');
      expectError(await send({ total: 500, redeemPoints: 6 }), 422, 'redeem_limit_exceeded');
      expect(await entryModel(t.conn).countDocuments({ card: m.cardNumber, type: 'purchase' })).toBe(0);
      expect(await balanceOf(m.cardNumber)).toBe(WELCOME);
      expect((await send({})).statusCode).toBe(201);
    });

    it('bad input is 400, never 500, and changes nothing', async () => {
      const m = await enrol();
      const url = '/api/v1/purchases';
      const base = { receiptId: `bad-${m.cardNumber}`, cardNumber: m.cardNumber, total: 10_000 };
      const malformed = await t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: '{"receiptId": "x", total: ' });
      expectError(malformed, 400, 'bad_request');
      const empty = await t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: '' });
      expect(empty.statusCode).toBe(400);
      const xml = await t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, payload: '<total>1</total>' });
      expectError(xml, 415, 'unsupported_media_type');
      const text = await t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' }, payload: 'total=1' });
      expectError(text, 400, 'validation_failed');
      const huge = await t.call('POST', url, { token: key, body: { ...base, items: [{ note: 'x'.repeat(300 * 1024) }] } });
      expectError(huge, 413, 'payload_too_large');
      const noBody = await t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}` } });
      expectError(noBody, 400, 'validation_failed');
      for (const bad of [
        { total: 100.5 },
        { total: -100 },
        { total: '10000' },
        { total: 1e300 },
        { discount: -1 },
        { discount: 0.01 },
        { redeemPoints: 1.5 },
        { redeemPoints: -3 },
        { receiptId: '' },
        { receiptId: 'x'.repeat(129) },
        { items: 'none' },
        { unknownField: 1 },
        { cardNumber: 12345 },
        // More than 1 000 000 ₽: a total in the wrong unit, or a till minting points.
        { total: 100_000_001 },
        { total: Number.MAX_SAFE_INTEGER },
      ]) {
        const res = await t.call('POST', url, { token: key, body: { ...base, ...bad } });
        expect({ bad, status: res.statusCode, code: res.json().error?.code }).toEqual({ bad, status: 400, code: 'validation_failed' });
      }
      expect(await entryModel(t.conn).countDocuments({ card: m.cardNumber, type: 'purchase' })).toBe(0);
      expect(await balanceOf(m.cardNumber)).toBe(WELCOME);
    });

    it('50 concurrent identical requests accrue exactly once', async () => {
      const m = await enrol();
      const body = { receiptId: `burst-${m.cardNumber}`, cardNumber: m.cardNumber, total: 123_400 };
      const results = await Promise.all(Array.from({ length: 50 }, () => t.call('POST', '/api/v1/purchases', { token: key, body })));
      const statuses = results.map((r) => r.statusCode).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(49);
      // 3% of 1234 ₽ = 37.02 → 37 points.
      const expected = { accrued: 37, redeemed: 0, balance: WELCOME + 37, level: 'base' };
      for (const r of results) expect(r.json()).toMatchObject(expected);
      expect(new Set(results.map((r) => r.json().purchaseId)).size).toBe(1);
      expect(await entryModel(t.conn).countDocuments({ card: m.cardNumber, type: 'purchase' })).toBe(1);
      expect(await balanceOf(m.cardNumber)).toBe(WELCOME + 37);
      expect(await t.core.ledger.appliedSum(m.cardNumber)).toBe(WELCOME + 37);
    });
  });

  describe('refunds', () => {
    it('201 takes back earned points and returns spent ones; 200 on replay; 409 on other data; 422 past the receipt; 404 unknown receipt', async () => {
      const m = await enrol();
      const receiptId = `rf-${m.cardNumber}`;
      const bought = await t.call('POST', '/api/v1/purchases', { token: key, body: { receiptId, cardNumber: m.cardNumber, total: 100_000, redeemPoints: 100 } });
      expect(bought.statusCode).toBe(201);
      // 3% of (1000 − 100) ₽ = 27 points; balance 1000 − 100 + 27.
      expect(bought.json()).toMatchObject({ accrued: 27, redeemed: 100, balance: 927 });

      // Refunds share out over the receipt after discounts (1000 ₽, part of it paid with points).
      const half = { refundId: `${receiptId}-1`, receiptId, amount: 50_000 };
      const first = await t.call('POST', '/api/v1/refunds', { token: key, body: half });
      expect(first.statusCode).toBe(201);
      // Half the receipt: half the accrual back (13.5 → 14, halves up), half the redeemed points returned (50).
      expect(first.json()).toEqual({ clawedBack: 14, returned: 50, balance: 927 - 14 + 50, shortfall: 0 });
      const replay = await t.call('POST', '/api/v1/refunds', { token: key, body: half });
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toEqual(first.json());
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expectError(await t.call('POST', '/api/v1/refunds', { token: key, body: { ...half, amount: 1000 } }), 409, 'idempotency_conflict');

      const tooMuch = await t.call('POST', '/api/v1/refunds', { token: key, body: { refundId: `${receiptId}-2`, receiptId, amount: 50_001 } });
      expectError(tooMuch, 422, 'refund_exceeds_receipt');
      expect(await balanceOf(m.cardNumber)).toBe(963);
      // The refused refund left nothing behind: the same id may now refund what is left.
      const rest = await t.call('POST', '/api/v1/refunds', { token: key, body: { refundId: `${receiptId}-2`, receiptId, amount: 50_000 } });
      expect(rest.statusCode).toBe(201);
      expect(rest.json()).toEqual({ clawedBack: 13, returned: 50, balance: WELCOME, shortfall: 0 });

      expectError(await t.call('POST', '/api/v1/refunds', { token: key, body: { refundId: 'x1', receiptId: 'never-sold', amount: 100 } }), 404, 'purchase_not_found');
      // Another store cannot refund this store's receipt.
      expectError(await t.call('POST', '/api/v1/refunds', { token: otherKey, body: { refundId: 'x2', receiptId, amount: 100 } }), 404, 'purchase_not_found');
      for (const amount of [0, -5, 10.5, '100']) {
        expectError(await t.call('POST', '/api/v1/refunds', { token: key, body: { refundId: 'x3', receiptId, amount } }), 400, 'validation_failed');
      }
    });
  });

  describe('a blocked card', () => {
    it('still takes refunds (corrections keep the books right) and answers a recorded receipt with its result', async () => {
      const m = await enrol();
      const receiptId = `rb-${m.cardNumber}`;
      const body = { receiptId, cardNumber: m.cardNumber, total: 100_000 };
      const first = await t.call('POST', '/api/v1/purchases', { token: key, body });
      expect(first.statusCode).toBe(201);
      await t.call('POST', `/api/v1/admin/cards/${m.cardNumber}/block`, { token: t.adminToken });
      // A new purchase is refused; the replay of the recorded one is not.
      expectError(await t.call('POST', '/api/v1/purchases', { token: key, body: { ...body, receiptId: `${receiptId}-new` } }), 423, 'card_blocked');
      const replay = await t.call('POST', '/api/v1/purchases', { token: key, body });
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toEqual(first.json());
      const done = await t.call('POST', '/api/v1/refunds', { token: key, body: { refundId: `${receiptId}-1`, receiptId, amount: 100_000 } });
      expect(done.statusCode).toBe(201);
      expect(done.json()).toEqual({ clawedBack: 30, returned: 0, balance: WELCOME, shortfall: 0 });
    });
  });

  describe('history', () => {
    it('pages newest first with a cursor, each movement exactly once', async () => {
      const m = await enrol();
      for (let i = 0; i < 6; i++) {
        const r = await t.call('POST', '/api/v1/purchases', { token: key, body: { receiptId: `h-${m.cardNumber}-${i}`, cardNumber: m.cardNumber, total: 10_000 * (i + 1) } });
        expect(r.statusCode).toBe(201);
      }
      const all = await t.call('GET', `/api/v1/cards/${m.cardNumber}/history?limit=100`, { token: key });
      expect(all.statusCode).toBe(200);
      expect(all.json().nextCursor).toBeNull();
      const items = all.json().items;
      expect(items).toHaveLength(7);
      expect(items.at(-1)).toMatchObject({ type: 'welcome', amount: WELCOME, balanceAfter: WELCOME });
      expect(items[0]).toMatchObject({ type: 'purchase', receiptId: `h-${m.cardNumber}-5`, amount: 18 });
      expect(items[0].balanceAfter).toBe(WELCOME + 3 + 6 + 9 + 12 + 15 + 18);
      expect(items.at(-1).receiptId).toBeUndefined();

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url = `/api/v1/cards/${m.cardNumber}/history?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await t.call('GET', url, { token: key });
        expect(page.statusCode).toBe(200);
        seen.push(...page.json().items.map((i: { id: string }) => i.id));
        cursor = page.json().nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(items.map((i: { id: string }) => i.id));

      expectError(await t.call('GET', `/api/v1/cards/${m.cardNumber}/history?cursor=garbage`, { token: key }), 400, 'validation_failed');
      expectError(await t.call('GET', `/api/v1/cards/${m.cardNumber}/history?limit=0`, { token: key }), 400, 'validation_failed');
      expectError(await t.call('GET', `/api/v1/cards/${m.cardNumber}/history?limit=1.5`, { token: key }), 400, 'validation_failed');
    });

    it('entries sharing a millisecond are neither lost nor repeated across pages', async () => {
      const m = await enrol();
      // Several adjustments stamped with the same time, as a busy card can have.
      const at = new Date();
      for (let i = 0; i < 5; i++) {
        const r = await t.call('POST', `/api/v1/admin/cards/${m.cardNumber}/adjust`, { token: t.adminToken, body: { points: i + 1, reason: 'test', idempotencyKey: `same-ms-${m.cardNumber}-${i}` } });
        expect(r.statusCode).toBe(201);
      }
      await entryModel(t.conn).updateMany({ card: m.cardNumber }, { $set: { createdAt: at } });
      const all = (await t.call('GET', `/api/v1/cards/${m.cardNumber}/history?limit=100`, { token: key })).json().items.map((i: { id: string }) => i.id);
      expect(all).toHaveLength(6);
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let n = 0; n < 10; n++) {
        const page: { items: { id: string }[]; nextCursor: string | null } = (await t.call('GET', `/api/v1/cards/${m.cardNumber}/history?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: key })).json();
        seen.push(...page.items.map((i: { id: string }) => i.id));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      expect(seen).toEqual(all);
    });
  });
});
