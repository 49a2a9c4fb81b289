import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZip } from '../wallet/zip.js';
import { startWalletFixture, type WalletFixture } from '../wallet/wallet.fixture.js';

/** The partners on the back of the pass, and a push to every pass when they change. */
let f: WalletFixture;
beforeAll(async () => {
  f = await startWalletFixture({ debounceMs: 200, pushRate: 50 });
});
afterAll(async () => {
  await f.close();
});

describe('partners on the pass', () => {
  it('a pass without partners has no partners field; adding one pushes every pass, which then lists the terms at its level', async () => {
    const card = await f.cardWithPass();
    const apnsToken = randomBytes(32).toString('hex');
    expect(await f.register(`dev${randomBytes(6).toString('hex')}`, card.number, card.token, apnsToken)).toBe(201);
    await f.settle();
    const fetchPass = async () => {
      const r = await f.call('GET', `/passkit/v1/passes/${f.certs.signer.passTypeId}/${card.number}`, { headers: { authorization: `ApplePass ${card.token}` } });
      expect(r.statusCode).toBe(200);
      return readZip(r.rawPayload);
    };
    const before = await fetchPass();
    const keys = (files: Record<string, Buffer>) => (JSON.parse(files['pass.json']!.toString()) as { storeCard: { backFields: { key: string }[] } }).storeCard.backFields.map((b) => b.key);
    expect(keys(before)).not.toContain('partners');

    const pushed = f.apns.delivered(apnsToken).length;
    const r = await f.call('POST', '/api/v1/admin/partners', { headers: { authorization: `Bearer ${f.adminToken}` }, body: { name: 'Обувь', percentBp: 1000, redeemCapBp: 5000 } });
    expect(r.statusCode).toBe(201);
    await f.apns.waitForPushes(pushed + 1, (p) => p.token === apnsToken && p.status === 200, 20_000);
    const after = await fetchPass();
    const back = (JSON.parse(after['pass.json']!.toString()) as { storeCard: { backFields: Record<string, unknown>[] } }).storeCard.backFields;
    expect(back.find((b) => b.key === 'partners')).toEqual({ key: 'partners', label: 'partners_label', value: 'partners_text' });
    const ru = after['ru.lproj/pass.strings']!.toString();
    expect(ru).toContain('"partners_label" = "Где действует карта";');
    expect(ru).toContain('"partners_text" = "Обувь: 10% возвращается баллами; баллами можно оплатить до 50% чека";');
    expect(after['en.lproj/pass.strings']!.toString()).toContain('"partners_text" = "Обувь: 10% comes back as points; points pay up to 50% of a receipt";');
  });
});
