import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api.js';

/**
 * The partner report against what the tills were told: receipts and refunds at two partners'
 * stores and a store of the programme's own, fed to the real insight consumer as the ledger
 * hands its events over (each event twice, as a retried job would), then read over HTTP.
 */
describe('partner report', () => {
  let t: TestApi;
  let phoneSeq = 5000;
  const admin = (method: 'GET' | 'POST', url: string, body?: unknown) => t.call(method, `/api/v1/admin${url}`, { token: t.adminToken, ...(body !== undefined ? { body } : {}) });

  beforeAll(async () => {
    t = await startTestApi();
    t.core.useEventSink({
      async publish(events) {
        for (const e of events) {
          await t.core.insight.consumer.handle(e);
          await t.core.insight.consumer.handle(e);
        }
      },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('counts per partner exactly what the tills were told, refunds included, retries not twice', async () => {
    const a = (await admin('POST', '/partners', { name: 'Alpha', percentBp: 1000, redeemCapBp: 5000 })).json<{ id: string }>().id;
    const b = (await admin('POST', '/partners', { name: 'Beta', percentBp: 500 })).json<{ id: string }>().id;
    const idle = (await admin('POST', '/partners', { name: 'Idle' })).json<{ id: string }>().id;
    const store = async (name: string, partnerId?: string) => (await admin('POST', '/stores', { name, ...(partnerId ? { partnerId } : {}) })).json<{ id: string; key: string }>();
    const sa = await store('Alpha shop', a);
    const sb = await store('Beta shop', b);
    const own = await store('Own shop');
    const enrol = async () => (await t.call('POST', '/api/v1/members', { token: own.key, body: { phone: `+7997${String(phoneSeq++).padStart(7, '0')}`, name: 'Ivan', consent: true } })).json<{ cardNumber: string }>().cardNumber;

    type Told = { accrued: number; redeemed: number; clawedBack: number; returned: number; purchases: number; refunds: number; revenue: number };
    const told = new Map<string, Told>();
    const of = (k: string): Told => told.get(k) ?? (told.set(k, { accrued: 0, redeemed: 0, clawedBack: 0, returned: 0, purchases: 0, refunds: 0, revenue: 0 }), told.get(k)!);
    const buy = async (s: { key: string }, k: string, receiptId: string, cardNumber: string, total: number, redeemPoints = 0) => {
      const body = { receiptId, cardNumber, total, redeemPoints };
      const r = await t.call('POST', '/api/v1/purchases', { token: s.key, body });
      expect(r.statusCode).toBe(201);
      const res = r.json<{ accrued: number; redeemed: number }>();
      // The till retries: the same answer, nothing counted twice.
      expect((await t.call('POST', '/api/v1/purchases', { token: s.key, body })).json()).toEqual(r.json());
      const x = of(k);
      x.accrued += res.accrued;
      x.redeemed += res.redeemed;
      x.purchases += 1;
      x.revenue += total;
    };
    const refund = async (s: { key: string }, k: string, refundId: string, receiptId: string, amount: number) => {
      const r = await t.call('POST', '/api/v1/refunds', { token: s.key, body: { refundId, receiptId, amount } });
      expect(r.statusCode).toBe(201);
      const res = r.json<{ clawedBack: number; returned: number }>();
      const x = of(k);
      x.clawedBack += res.clawedBack;
      x.returned += res.returned;
      x.refunds += 1;
      x.revenue -= amount;
    };

    const c1 = await enrol();
    const c2 = await enrol();
    await buy(sa, a, 'a1', c1, 120_000, 600);
    await buy(sa, a, 'a2', c2, 33_333);
    await buy(sb, b, 'b1', c1, 50_000, 100);
    await buy(own, '-', 'o1', c2, 10_000, 50);
    await refund(sa, a, 'ra1', 'a1', 40_000);
    await refund(sb, b, 'rb1', 'b1', 50_000);

    const r = await admin('GET', '/reports/partners');
    expect(r.statusCode).toBe(200);
    const body = r.json<{ items: { partnerId: string | null; name: string | null; accrued: number; redeemed: number; clawedBack: number; returned: number; purchases: number; refunds: number; revenueKopecks: number; issued: number; redeemedNet: number; balance: number; balanceKopecks: number }[]; total: { issued: number; redeemedNet: number; balance: number } }>();
    const row = (id: string | null) => body.items.find((i) => i.partnerId === id)!;
    for (const [k, x] of told) {
      const got = row(k === '-' ? null : k);
      expect(got, k).toMatchObject({ accrued: x.accrued, redeemed: x.redeemed, clawedBack: x.clawedBack, returned: x.returned, purchases: x.purchases, refunds: x.refunds, revenueKopecks: x.revenue });
      expect(got.issued).toBe(x.accrued - x.clawedBack);
      expect(got.redeemedNet).toBe(x.redeemed - x.returned);
      expect(got.balance).toBe(x.redeemed - x.returned - (x.accrued - x.clawedBack));
      expect(got.balanceKopecks).toBe(got.balance * 100);
    }
    expect(row(a).name).toBe('Alpha');
    expect(row(null).name).toBeNull();
    expect(row(idle)).toMatchObject({ name: 'Idle', purchases: 0, issued: 0, balance: 0 });
    // Beta's receipt was refunded whole: nothing issued, nothing accepted.
    expect(row(b)).toMatchObject({ issued: 0, redeemedNet: 0 });
    // The partners' balances net out against the programme's own stores: Σ balance = Σ accepted − Σ issued.
    expect(body.total.balance).toBe(body.items.reduce((s, i) => s + i.balance, 0));

    // The same figures as a spreadsheet export.
    const csv = await admin('GET', '/reports/partners/export?format=csv&lang=en');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = csv.body.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toContain('Partner;Receipts;Refunds');
    const alpha = lines.find((l) => l.includes(';Alpha;'))!.split(';');
    expect(Number(alpha[5])).toBe(row(a).accrued);
    expect(Number(alpha[11])).toBe(row(a).balance);
    expect(lines.some((l) => l.includes('Stores without a partner'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^;Total;/);
    const xlsx = await admin('GET', '/reports/partners/export?format=xlsx');
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.rawPayload.subarray(0, 2).toString()).toBe('PK');
  });
});
