import { createPublicKey, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDevWalletCertificates } from '../../infra/wallet/wallet-dev-certs.js';
import { startFakeApns, type FakeApns } from '../fakes/apns.fake.js';
import { uniqueName } from '../helpers/env.js';
import { listeningUrl, runMain, type MainRun } from '../helpers/process.js';
import { readZip } from './zip.js';

/**
 * The whole wallet path on a laptop, as a new user runs it: `npm run wallet:dev-certs`, then
 * `npm start` with APNS_HOST pointing at a local APNs (here the fake). A purchase must push.
 */
describe('embedded start with dev certificates pushes to a local APNs', () => {
  let apns: FakeApns;
  let main: MainRun;
  let base: string;
  const adminToken = `dev-push-${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'loyalty-devpush-'));
    const dev = await createDevWalletCertificates(join(dataDir, 'wallet-dev'));
    apns = await startFakeApns({ topic: dev.passTypeId, keyId: dev.apnsKeyId, teamId: dev.teamId, publicKey: createPublicKey(createPrivateKey(readFileSync(dev.apnsKey))) });
    const caFile = join(dataDir, 'fake-apns-ca.pem');
    writeFileSync(caFile, apns.ca);
    main = await runMain(
      {
        DATA_DIR: dataDir,
        MONGODB_URL: inject('mongoUrl'),
        REDIS_URL: inject('redisUrl'),
        MONGODB_DB: uniqueName('devpush'),
        QUEUE_PREFIX: uniqueName('devpush'),
        ADMIN_TOKEN: adminToken,
        APNS_HOST: apns.url,
        WALLET_PUSH_DEBOUNCE_MS: '100',
        // The fake's self-signed certificate, trusted the way an operator trusts a local CA.
        NODE_EXTRA_CA_CERTS: caFile,
      },
      { until: 'ready', timeoutMs: 60_000 },
    );
    base = listeningUrl(main.stdout);
  }, 120_000);

  afterAll(async () => {
    main.child.kill('SIGTERM');
    await main.exited;
    await apns.close();
  });

  it('says so at start, and a purchase on a card whose pass is on a device gives one push', async () => {
    expect(main.stdout).toMatch(/Wallet: on, dev certificates .* pushes via https:\/\/127\.0\.0\.1:\d+ with the dev APNs key/);
    const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const store = (await (await fetch(`${base}/api/v1/admin/stores`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'Laptop shop' }) })).json()) as { key: string };
    const till = { authorization: `Bearer ${store.key}`, 'content-type': 'application/json' };
    const enrolled = await fetch(`${base}/api/v1/members`, { method: 'POST', headers: till, body: JSON.stringify({ phone: '+79997770011', name: 'Лена', consent: true }) });
    expect(enrolled.status).toBe(201);
    const { cardNumber } = (await enrolled.json()) as { cardNumber: string };
    const link = (await (await fetch(`${base}/api/v1/admin/cards/${cardNumber}/wallet-link`, { headers: admin })).json()) as { url: string };
    const pkpass = await fetch(`${base}${new URL(link.url).pathname}`);
    expect(pkpass.status).toBe(200);
    const pass = JSON.parse(readZip(Buffer.from(await pkpass.arrayBuffer()))['pass.json']!.toString()) as { passTypeIdentifier: string; serialNumber: string; authenticationToken: string };
    const pushToken = randomBytes(32).toString('hex');
    const reg = await fetch(`${base}/passkit/v1/devices/dev${randomBytes(4).toString('hex')}/registrations/${pass.passTypeIdentifier}/${pass.serialNumber}`, {
      method: 'POST',
      headers: { authorization: `ApplePass ${pass.authenticationToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pushToken }),
    });
    expect(reg.status).toBe(201);
    const bought = await fetch(`${base}/api/v1/purchases`, { method: 'POST', headers: till, body: JSON.stringify({ receiptId: 'laptop-1', cardNumber, total: 50_000 }) });
    expect(bought.status).toBe(201);
    const [push] = await apns.waitForPushes(1, (p) => p.token === pushToken && p.status === 200, 30_000);
    expect(push).toMatchObject({ token: pushToken });
  }, 120_000);
});
