import { inject } from 'vitest';
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../api/app.js';
import { passkitRoutes, PASSKIT_PREFIX } from '../../api/routes/passkit.routes.js';
import { walletAdminRoutes } from '../../api/routes/wallet-admin.routes.js';
import { walletRoutes } from '../../api/routes/wallet.routes.js';
import { createCore, type Core } from '../../core/core.js';
import { DOMAIN_EVENTS_QUEUE, type DomainEvent } from '../../core/events/event.types.js';
import { createI18n } from '../../core/i18n/i18n.js';
import { createPassPool, type PassGenerator } from '../../infra/wallet/pass-pool.js';
import { createDevWalletCertificates, devCredentials, type DevWalletFiles } from '../../infra/wallet/wallet-dev-certs.js';
import { loadApnsKey, loadWalletSigner, type WalletSigner } from '../../core/wallet/wallet-signer.js';
import type { Wallet } from '../../core/wallet/wallet.service.js';
import { createLogger } from '../../infra/logger.js';
import type { Connection } from '../../infra/mongo.js';
import type { QueueFactory } from '../../infra/queue.factory.js';
import { startOutboxRelay } from '../../workers/outbox/outbox-relay.worker.js';
import { createQueueEventSink } from '../../infra/event-sink.js';
import { createApnsClient, type ApnsClient } from '../../workers/wallet/apns.client.js';
import { WALLET_UPDATES_QUEUE } from '../../workers/wallet/pass-update.job.js';
import { startWalletWorkers, type WalletWorkerDeps, type WalletWorkers } from '../../workers/wallet/wallet.worker.js';
import { startFakeApns, type FakeApns } from '../fakes/apns.fake.js';
import { newMember } from '../helpers/core.js';
import { TEST_PHONE_SECRET, testMongo, testQueues } from '../helpers/env.js';

export const PUBLIC_URL = 'https://loyalty.example';

/** Throw-away certificates for one test file (openssl), removed by `remove()`. */
export async function testCertificates(): Promise<{ files: DevWalletFiles; signer: WalletSigner; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'wallet-certs-'));
  const files = await createDevWalletCertificates(dir, { passTypeId: 'pass.example.loyalty.test', teamId: 'TESTTEAM01' });
  return { files, signer: loadWalletSigner(devCredentials(files)), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface WalletFixture {
  conn: Connection;
  core: Core;
  wallet: Wallet;
  generator: PassGenerator;
  certs: Awaited<ReturnType<typeof testCertificates>>;
  app: FastifyInstance;
  adminToken: string;
  apns: FakeApns;
  apnsClient: ApnsClient;
  queues: QueueFactory;
  workers: WalletWorkers;
  call(method: InjectOptions['method'], url: string, opts?: { headers?: Record<string, string>; body?: unknown }): Promise<LightMyRequestResponse>;
  /** A new member's card with a pass; returns its number and the pass's ApplePass token. */
  cardWithPass(): Promise<{ number: string; token: string }>;
  /** The till buying for `total` kopecks on a card (accrual through the ledger). */
  purchase(card: string, totalKopecks: number): Promise<void>;
  /** Waits until the outbox is relayed and no wallet job waits or runs (twice in a row). */
  settle(): Promise<void>;
  /** Registers a device for a pass over the web service; returns the HTTP status. */
  register(device: string, serial: string, token: string, pushToken: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The wallet as `npm start` wires it, on this file's own database and queue prefix: the
 * real core, the HTTP app with the wallet routes registered as api/app.ts would, the signing
 * pool, the outbox relay and the wallet workers, the real APNs client and a fake APNs.
 */
export async function startWalletFixture(
  opts: { debounceMs?: number; pushRate?: number; messageFor?: WalletWorkerDeps['messageFor'] } = {},
): Promise<WalletFixture> {
  const conn = await testMongo();
  const queues = testQueues();
  // As the runtime wires it: the ledger hands its events to the consumers' queue.
  const sink = createQueueEventSink([queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE)]);
  const core = createCore({ conn, settingsCacheMs: 0, events: sink, guardedCardWrites: inject('mongoSource') !== 'ferretdb', phoneHashSecret: TEST_PHONE_SECRET });
  await core.init();
  const certs = await testCertificates();
  const generator = createPassPool({ pem: certs.signer.pem, threads: 1 });
  const wallet = core.createWallet({
    i18n: await createI18n(),
    passTypeId: certs.signer.passTypeId,
    teamId: certs.signer.teamId,
    organizationName: 'Test shop',
    publicUrl: PUBLIC_URL,
    linkSecret: randomBytes(32).toString('base64url'),
    generator,
  });
  await wallet.init();
  const adminToken = randomBytes(24).toString('base64url');
  const app = await buildApp({ logger: createLogger('silent'), health: { checks: {} }, core, adminToken, lookupRateLimit: { max: 10_000, timeWindowMs: 60_000 } });
  // What api/app.ts does once wired (see the wallet report): public download, web service, admin routes.
  await app.register(walletRoutes({ wallet }));
  await app.register(passkitRoutes({ wallet }), { prefix: PASSKIT_PREFIX });
  await app.register(
    async (adm) => {
      adm.addHook('onRequest', adm.authenticateAdmin);
      await adm.register(walletAdminRoutes({ core, wallet }));
    },
    { prefix: '/api/v1/admin' },
  );
  await app.ready();

  const apnsKey = loadApnsKey({ key: certs.files.apnsKey });
  const apns = await startFakeApns({ topic: certs.signer.passTypeId, keyId: certs.files.apnsKeyId, teamId: certs.signer.teamId, publicKey: createPublicKey(apnsKey) });
  const apnsClient = createApnsClient({
    host: apns.url,
    ca: apns.ca,
    key: apnsKey,
    keyId: certs.files.apnsKeyId,
    teamId: certs.signer.teamId,
  });
  const logger = createLogger(process.env.FIXTURE_LOG ?? 'silent');
  const relay = startOutboxRelay({ outbox: core.outbox, sink, logger, busyMs: 20, idleMs: 100 });
  const workers = startWalletWorkers({
    queues,
    wallet,
    apns: apnsClient,
    logger,
    debounceMs: opts.debounceMs ?? 300,
    pushRate: opts.pushRate ?? 100,
    sweepEveryMs: 200,
    prewarm: true,
    // The job's retries (the one retry layer of pushes), quick in tests.
    retryDelayMs: 20,
    ...(opts.messageFor ? { messageFor: opts.messageFor } : {}),
  });

  let receipt = 0;
  const storeId = 'store-test';
  return {
    conn,
    core,
    wallet,
    generator,
    certs,
    app,
    adminToken,
    apns,
    apnsClient,
    queues,
    workers,
    call: (method, url, o = {}) =>
      app.inject({ method, url, headers: o.headers ?? {}, ...(o.body !== undefined ? { payload: o.body as Record<string, unknown> } : {}) }),
    async cardWithPass() {
      const { card } = await newMember(core);
      const doc = await wallet.passes.ensure(card._id);
      const files = await import('./zip.js').then(async (z) => z.readZip(await wallet.passes.file(doc)));
      const passJson = JSON.parse(files['pass.json']!.toString()) as { authenticationToken: string };
      return { number: card._id, token: passJson.authenticationToken };
    },
    async purchase(card, totalKopecks) {
      receipt++;
      await core.purchases.purchase({ storeId, receiptId: `r-${receipt}-${randomBytes(3).toString('hex')}`, cardNumber: card, totalKopecks });
    },
    async settle() {
      let quiet = 0;
      const names = [DOMAIN_EVENTS_QUEUE, WALLET_UPDATES_QUEUE];
      for (let i = 0; i < 300 && quiet < 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const counts = await Promise.all(names.map((n) => queues.queue(n).getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
        const unpublished = await conn.collection('ledger_entries').countDocuments({ published: false, status: 'applied' }).catch(() => 0);
        const busy = unpublished + counts.reduce((n, c) => n + Object.values(c).reduce((a, b) => a + b, 0), 0);
        quiet = busy === 0 ? quiet + 1 : 0;
      }
    },
    async register(device, serial, token, pushToken) {
      const r = await app.inject({
        method: 'POST',
        url: `/passkit/v1/devices/${device}/registrations/${certs.signer.passTypeId}/${serial}`,
        headers: { authorization: `ApplePass ${token}` },
        payload: { pushToken },
      });
      return r.statusCode;
    },
    async close() {
      await workers.close();
      await relay.close();
      await queues.close();
      await apnsClient.close();
      await apns.close();
      await app.close();
      await generator.close();
      certs.remove();
      await conn.dropDatabase().catch(() => undefined);
      await conn.close();
    },
  };
}
