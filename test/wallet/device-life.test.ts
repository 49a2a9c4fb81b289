import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { createLogger } from '../../infra/logger.js';
import { readZip } from './zip.js';
import { startWalletFixture, type WalletFixture } from './wallet.fixture.js';

let f: WalletFixture;
beforeAll(async () => {
  f = await startWalletFixture({ debounceMs: 300 });
});
afterAll(async () => {
  await f.close();
});

const pushToken = (): string => randomBytes(32).toString('hex');
const balanceOf = (pkpass: Buffer): number => JSON.parse(readZip(pkpass)['pass.json']!.toString()).storeCard.headerFields[0].value;

describe("a device's whole life with a pass, over HTTP", () => {
  it('downloads, registers, is pushed on a purchase, lists, fetches the new pass, gets 304, unregisters', async () => {
    const { number } = await f.cardWithPass();
    await f.settle();
    const passType = f.certs.signer.passTypeId;
    const device = `dev${randomBytes(8).toString('hex')}`;
    const apnsToken = pushToken();

    // The link the bot and the admin API give.
    const link = new URL(f.wallet.linkFor(number));
    const download = await f.call('GET', link.pathname);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/vnd.apple.pkpass');
    const pass = JSON.parse(readZip(download.rawPayload)['pass.json']!.toString());
    const auth = { authorization: `ApplePass ${pass.authenticationToken}` };
    const regUrl = `/passkit/v1/devices/${device}/registrations/${passType}/${number}`;

    // A wrong token is refused and registers nothing.
    expect((await f.call('POST', regUrl, { headers: { authorization: 'ApplePass wrong-token-0123456789' }, body: { pushToken: apnsToken } })).statusCode).toBe(401);
    expect((await f.call('POST', regUrl, { body: { pushToken: apnsToken } })).statusCode).toBe(401);
    expect(await f.wallet.registry.forSerial(number)).toHaveLength(0);

    expect((await f.call('POST', regUrl, { headers: auth, body: { pushToken: apnsToken } })).statusCode).toBe(201);
    expect((await f.call('POST', regUrl, { headers: auth, body: { pushToken: apnsToken } })).statusCode).toBe(200);
    const listUrl = `/passkit/v1/devices/${device}/registrations/${passType}`;
    const first = await f.call('GET', listUrl);
    expect(first.statusCode).toBe(200);
    const tag = first.json().lastUpdated as string;
    expect(first.json().serialNumbers).toEqual([number]);

    // A purchase: ledger → outbox → relay → wallet worker → one push.
    await f.purchase(number, 50_000);
    const [push] = await f.apns.waitForPushes(1, (p) => p.token === apnsToken && p.status === 200);
    expect(push).toMatchObject({ topic: passType, body: '{}' });
    expect(push!.jwt?.header).toMatchObject({ alg: 'ES256', kid: f.certs.files.apnsKeyId });
    expect(push!.jwt?.claims).toMatchObject({ iss: f.certs.signer.teamId });

    // Wallet asks what changed since its tag, then fetches the pass.
    const changed = await f.call('GET', `${listUrl}?passesUpdatedSince=${tag}`);
    expect(changed.statusCode).toBe(200);
    expect(changed.json().serialNumbers).toEqual([number]);
    expect(Number(changed.json().lastUpdated)).toBeGreaterThan(Number(tag));
    const passUrl = `/passkit/v1/passes/${passType}/${number}`;
    const fresh = await f.call('GET', passUrl, { headers: auth });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.headers['content-type']).toBe('application/vnd.apple.pkpass');
    expect(balanceOf(fresh.rawPayload)).toBe(1015);
    const lastModified = fresh.headers['last-modified'] as string;
    expect(new Date(lastModified).getTime()).toBe(Number(changed.json().lastUpdated));

    const again = await f.call('GET', passUrl, { headers: { ...auth, 'if-modified-since': lastModified } });
    expect(again.statusCode).toBe(304);
    expect((await f.call('GET', passUrl, { headers: { authorization: 'ApplePass not-the-right-token-000' } })).statusCode).toBe(401);
    // A tag later than any change: nothing to list.
    expect((await f.call('GET', `${listUrl}?passesUpdatedSince=${Date.now() + 60_000}`)).statusCode).toBe(204);

    expect((await f.call('DELETE', regUrl, { headers: { authorization: 'ApplePass not-the-right-token-000' } })).statusCode).toBe(401);
    expect(await f.wallet.registry.forSerial(number)).toHaveLength(1);
    expect((await f.call('DELETE', regUrl, { headers: auth })).statusCode).toBe(200);
    expect(await f.wallet.registry.forSerial(number)).toHaveLength(0);
    expect((await f.call('GET', listUrl)).statusCode).toBe(204);

    expect((await f.call('POST', '/passkit/v1/log', { body: { logs: ['[2026-03-01] Web service error for pass.x: …'] } })).statusCode).toBe(200);
  });

  it('a change pushed while the device is registered shows in the pass it fetches next, even before the worker ran', async () => {
    const { number, token } = await f.cardWithPass();
    await f.settle();
    const passUrl = `/passkit/v1/passes/${f.certs.signer.passTypeId}/${number}`;
    const before = await f.call('GET', passUrl, { headers: { authorization: `ApplePass ${token}` } });
    await f.core.ledger.apply({ key: `adj-${number}`, card: number, type: 'adjustment', effect: 'credit', points: 7 });
    const after = await f.call('GET', passUrl, { headers: { authorization: `ApplePass ${token}`, 'if-modified-since': before.headers['last-modified'] as string } });
    expect(after.statusCode).toBe(200);
    expect(balanceOf(after.rawPayload)).toBe(1007);
  });

  it('refuses other pass types, malformed ids and foreign serials', async () => {
    const { number, token } = await f.cardWithPass();
    const other = await f.cardWithPass();
    const auth = { authorization: `ApplePass ${token}` };
    expect((await f.call('GET', `/passkit/v1/passes/pass.other.type/${number}`, { headers: auth })).statusCode).toBe(401);
    // A pass's token opens that pass only.
    expect((await f.call('GET', `/passkit/v1/passes/${f.certs.signer.passTypeId}/${other.number}`, { headers: auth })).statusCode).toBe(401);
    expect((await f.call('POST', `/passkit/v1/devices/d1/registrations/${f.certs.signer.passTypeId}/${number}`, { headers: auth, body: { pushToken: 'zz' } })).statusCode).toBe(400);
    expect((await f.call('GET', `/passkit/v1/devices/d1/registrations/pass.other.type`)).statusCode).toBe(204);
  });

  it("registering a device for one pass changes that registration only, never the push token of the device's other passes", async () => {
    const [a, b, c] = [await f.cardWithPass(), await f.cardWithPass(), await f.cardWithPass()];
    const device = `dev${randomBytes(8).toString('hex')}`;
    const mine = pushToken();
    expect(await f.register(device, a.number, a.token, mine)).toBe(201);
    expect(await f.register(device, b.number, b.token, mine)).toBe(201);
    // Someone who knows the device id registers it for their own pass with their own token.
    const theirs = pushToken();
    expect(await f.register(device, c.number, c.token, theirs)).toBe(201);
    const tokenOf = async (serial: string) => (await f.wallet.registry.forSerial(serial)).find((r) => r.device === device)?.pushToken;
    expect(await tokenOf(a.number)).toBe(mine);
    expect(await tokenOf(b.number)).toBe(mine);
    expect(await tokenOf(c.number)).toBe(theirs);
    // A new token for one pass (its own request) changes that pass's registration.
    const renewed = pushToken();
    expect(await f.register(device, a.number, a.token, renewed)).toBe(200);
    expect(await tokenOf(a.number)).toBe(renewed);
    expect(await tokenOf(b.number)).toBe(mine);
  });

  it('the unauthenticated device log is small, rate-limited per address, and logged cut short', async () => {
    const lines: string[] = [];
    const app = await buildApp({
      logger: createLogger('info', { write: (l: string) => lines.push(l) }),
      health: { checks: {} },
      core: f.core,
      adminToken: 'device-log-test-admin-token-0123',
      wallet: f.wallet,
    });
    try {
      const post = (logs: unknown, remoteAddress = '10.1.1.1') => app.inject({ method: 'POST', url: '/passkit/v1/log', payload: { logs }, remoteAddress });
      expect((await post(Array.from({ length: 21 }, () => 'x'))).statusCode).toBe(400);
      expect((await post(['x'.repeat(1001)])).statusCode).toBe(400);
      const huge = await app.inject({ method: 'POST', url: '/passkit/v1/log', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ logs: ['x'.repeat(40_000)] }), remoteAddress: '10.1.1.1' });
      expect(huge.statusCode).toBe(413);
      const secret = `phone +79991234567 ${'y'.repeat(900)}`;
      expect((await post(Array.from({ length: 20 }, () => secret))).statusCode).toBe(200);
      const logged = lines.filter((l) => l.includes('Wallet device log'));
      expect(logged).toHaveLength(1);
      expect(logged[0]!.length).toBeLessThan(3000);
      expect(logged[0]).not.toContain('79991234567');
      // Ten a minute from one address (the refused ones counted too), then 429; another address is not affected.
      for (let i = 0; i < 6; i++) await post(['ok']);
      const limited = await post(['ok']);
      expect(limited.statusCode).toBe(429);
      expect(limited.json().error.code).toBe('rate_limited');
      expect((await post(['ok'], '10.1.1.2')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
