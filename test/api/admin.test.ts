import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCardNumber } from '../../core/cards/card-number.js';
import { entryModel } from '../../core/ledger/entry.model.js';
import { hashKey } from '../../core/stores/store.repository.js';
import { startTestApi, type TestApi } from '../helpers/api.js';

describe('admin API', () => {
  let t: TestApi;
  let key: string;
  let phoneSeq = 2000;
  const newPhone = (): string => `+7916${String(phoneSeq++).padStart(7, '0')}`;
  const admin = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, body?: unknown, headers?: Record<string, string>) =>
    t.call(method, `/api/v1/admin${url}`, { token: t.adminToken, body, ...(headers ? { headers } : {}) });
  const expectError = (res: LightMyRequestResponse, status: number, code: string): void => {
    expect({ status: res.statusCode, code: res.json().error?.code }).toEqual({ status, code });
  };
  const newCard = async (): Promise<string> => {
    const res = await admin('POST', '/members', { phone: newPhone(), name: 'Oleg', consent: true });
    expect(res.statusCode).toBe(201);
    return res.json().cardNumber;
  };

  beforeAll(async () => {
    t = await startTestApi();
    key = (await admin('POST', '/stores', { name: 'Main store' })).json().key;
  });
  afterAll(async () => {
    await t.close();
  });

  describe('stores', () => {
    it('creates a store whose key is shown once and stored only hashed; lists stores without keys', async () => {
      const res = await admin('POST', '/stores', { name: 'Kiosk', cardPrefix: 'K7' });
      expect(res.statusCode).toBe(201);
      const created = res.json();
      expect(created).toEqual({ id: expect.any(String), name: 'Kiosk', key: expect.stringMatching(/^sk_[\w-]{32}$/), partnerId: null });
      const raw = await t.conn.collection('stores').findOne({ name: 'Kiosk' });
      expect(raw?.keyHash).toBe(hashKey(created.key));
      expect(JSON.stringify(raw)).not.toContain(created.key);

      const list = await admin('GET', '/stores');
      expect(list.statusCode).toBe(200);
      expect(list.json().items).toContainEqual({ id: created.id, name: 'Kiosk', keyHint: created.key.slice(0, 7), cardPrefix: 'K7', partnerId: null, active: true });
      expect(list.body).not.toContain(created.key);

      // The store prefix is registered where enrolment reads it: its till issues K7… cards.
      expect((await admin('GET', '/settings')).json().cardPrefixes.stores[created.id]).toBe('K7');
      const enrolled = await t.call('POST', '/api/v1/members', { token: created.key, body: { phone: newPhone(), name: 'Kim', consent: true } });
      expect(enrolled.json().cardNumber).toMatch(/^K7\d{12}$/);
    });

    it('refuses bad store input', async () => {
      expectError(await admin('POST', '/stores', { name: '' }), 400, 'validation_failed');
      expectError(await admin('POST', '/stores', { name: 'X', cardPrefix: 'abc' }), 400, 'validation_failed');
      expectError(await admin('POST', '/stores', { name: 'X', key: 'mine' }), 400, 'validation_failed');
    });
  });

  describe('members', () => {
    it('enrols with 201, and answers 200 created:false for a known phone', async () => {
      const phone = newPhone();
      const first = await admin('POST', '/members', { phone, name: 'Vera', consent: true });
      expect(first.statusCode).toBe(201);
      expect(first.json()).toMatchObject({ created: true, balance: 1000 });
      expect(first.json().cardNumber).toMatch(/^70\d{12}$/);
      const again = await admin('POST', '/members', { phone, name: 'Vera', consent: true });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ ...first.json(), created: false });
    });
  });

  describe('settings', () => {
    it('GET shows the settings with the version as ETag; PATCH writes the next version', async () => {
      const cur = await admin('GET', '/settings');
      expect(cur.statusCode).toBe(200);
      const v: number = cur.json().version;
      expect(cur.headers.etag).toBe(`"${v}"`);
      expect(cur.json().levels[0]).toMatchObject({ id: 'base', percentBp: 300 });

      const patched = await admin('PATCH', '/settings', { welcomeBonus: 500 });
      expect(patched.statusCode).toBe(200);
      expect(patched.json()).toMatchObject({ version: v + 1, welcomeBonus: 500 });
      expect(patched.headers.etag).toBe(`"${v + 1}"`);
      expect((await admin('GET', '/settings')).json().version).toBe(v + 1);
      // New members now get 500.
      expect((await admin('POST', '/members', { phone: newPhone(), name: 'Pavel', consent: true })).json().balance).toBe(500);

      const withMatch = await admin('PATCH', '/settings', { welcomeBonus: 1000 }, { 'if-match': `"${v + 1}"` });
      expect(withMatch.statusCode).toBe(200);
      expect(withMatch.json().version).toBe(v + 2);
      const stale = await admin('PATCH', '/settings', { welcomeBonus: 7 }, { 'if-match': String(v + 1) });
      expectError(stale, 409, 'concurrent_update');
      expect((await admin('GET', '/settings')).json()).toMatchObject({ version: v + 2, welcomeBonus: 1000 });
    });

    it('refuses a bad edit with 400 and writes nothing', async () => {
      const v: number = (await admin('GET', '/settings')).json().version;
      expectError(await admin('PATCH', '/settings', { version: 99 }), 400, 'validation_failed');
      expectError(await admin('PATCH', '/settings', { welcomeBonus: -1 }), 400, 'validation_failed');
      expectError(await admin('PATCH', '/settings', { redeemCapBp: 50.5 }), 400, 'validation_failed');
      const levels = [
        { id: 'base', name: { ru: 'Б', en: 'B' }, percentBp: 300, minSpendKopecks: 0 },
        { id: 'two', name: { ru: 'Д', en: 'T' }, percentBp: 500, minSpendKopecks: 0 },
      ];
      const unordered = await admin('PATCH', '/settings', { levels });
      expectError(unordered, 400, 'validation_failed');
      expect(unordered.json().error.message).toMatch(/levels\.1\.minSpendKopecks/);
      expectError(await admin('PATCH', '/settings', { welcomeBonus: 1 }, { 'if-match': 'soon' }), 400, 'validation_failed');
      expect((await admin('GET', '/settings')).json().version).toBe(v);
    });
  });

  describe('cards', () => {
    it('blocks and unblocks (also by a mistyped-looking but valid input form)', async () => {
      const card = await newCard();
      expect((await admin('POST', `/cards/${card}/block`)).json()).toEqual({ number: card, status: 'blocked' });
      expectError(await t.call('GET', `/api/v1/cards/${card}`, { token: key }), 423, 'card_blocked');
      expect((await admin('POST', `/cards/${card.slice(0, 5)}-${card.slice(5)}/unblock`)).json()).toEqual({ number: card, status: 'active' });
      expect((await t.call('GET', `/api/v1/cards/${card}`, { token: key })).statusCode).toBe(200);
      expectError(await admin('POST', '/cards/12345678/block'), 400, 'invalid_card_number');
      expectError(await admin('POST', `/cards/${generateCardNumber('70')}/block`), 404, 'card_not_found');
    });

    it('sets a staff level by hand, which purchases then use, and clears it', async () => {
      const card = await newCard();
      const set = await admin('PUT', `/cards/${card}/level`, { levelId: 'staff' });
      expect(set.statusCode).toBe(200);
      expect(set.json()).toEqual({ number: card, manualLevelId: 'staff', level: { id: 'staff', name: 'Сотрудник', percent: 20 } });
      const bought = await t.call('POST', '/api/v1/purchases', { token: key, body: { receiptId: `staff-${card}`, cardNumber: card, total: 10_000 } });
      expect(bought.json()).toMatchObject({ accrued: 20, level: 'staff' });
      const cleared = await admin('PUT', `/cards/${card}/level`, { levelId: null });
      expect(cleared.json()).toMatchObject({ manualLevelId: null, level: { id: 'base', percent: 3 } });
      expectError(await admin('PUT', `/cards/${card}/level`, { levelId: 'emperor' }), 400, 'validation_failed');
      expectError(await admin('PUT', `/cards/${card}/level`, {}), 400, 'validation_failed');
    });

    it('imports plastic cards, reporting invalid and known numbers', async () => {
      const a = generateCardNumber('90');
      const b = generateCardNumber('90');
      const res = await admin('POST', '/cards/import', { numbers: [a, b, '1234', `${a.slice(0, -1)}${(Number(a.slice(-1)) + 1) % 10}`] });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ imported: 2, existing: 0, invalid: ['1234', `${a.slice(0, -1)}${(Number(a.slice(-1)) + 1) % 10}`] });
      expect((await admin('POST', '/cards/import', { numbers: [a] })).json()).toEqual({ imported: 0, existing: 1, invalid: [] });
      // Not linked to anyone yet: the till cannot find it.
      expectError(await t.call('GET', `/api/v1/cards/${a}`, { token: key }), 404, 'card_not_found');
      expectError(await admin('POST', '/cards/import', { numbers: [] }), 400, 'validation_failed');
    });

    it('adjusts points by hand once per idempotency key', async () => {
      const card = await newCard();
      const body = { points: 250, reason: 'apology for a late order', idempotencyKey: `adj-${card}` };
      const first = await admin('POST', `/cards/${card}/adjust`, body);
      expect(first.statusCode).toBe(201);
      expect(first.json()).toMatchObject({ amount: 250, balance: 1250 });
      const replay = await admin('POST', `/cards/${card}/adjust`, body);
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toEqual(first.json());
      expectError(await admin('POST', `/cards/${card}/adjust`, { ...body, points: 300 }), 409, 'idempotency_conflict');

      const take = await admin('POST', `/cards/${card}/adjust`, { points: -50, reason: 'correction', idempotencyKey: `adj-${card}-2` });
      expect(take.statusCode).toBe(201);
      expect(take.json()).toMatchObject({ amount: -50, balance: 1200 });
      expectError(await admin('POST', `/cards/${card}/adjust`, { points: -5000, reason: 'too much', idempotencyKey: `adj-${card}-3` }), 422, 'insufficient_points');

      const entries = await entryModel(t.conn).find({ card, type: 'adjustment' }).lean();
      expect(entries.map((e) => e.amount).sort()).toEqual([-50, 250]);
      expect(entries.every((e) => e.ref.author === 'admin' && typeof e.ref.reason === 'string')).toBe(true);

      for (const bad of [{ points: 0 }, { points: 1.5 }, { points: '5' }, { reason: '' }, { idempotencyKey: '' }, { extra: true }]) {
        expectError(await admin('POST', `/cards/${card}/adjust`, { ...body, idempotencyKey: `adj-${card}-bad`, ...bad }), 400, 'validation_failed');
      }
      const history = (await t.call('GET', `/api/v1/cards/${card}/history`, { token: key })).json();
      expect(history.items.map((i: { type: string; amount: number }) => [i.type, i.amount])).toEqual([
        ['adjustment', -50],
        ['adjustment', 250],
        ['welcome', 1000],
      ]);
    });
  });
});
