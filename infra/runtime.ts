import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../core/config.js';
import { createCore, type Core } from '../core/core.js';
import { createI18n, type I18n } from '../core/i18n/i18n.js';
import type { Wallet } from '../core/wallet/wallet.service.js';
import type { Logger } from './logger.js';
import { connectMongo, isFerretdb, pingMongo, poolSizeFor } from './mongo.js';
import { DOMAIN_EVENTS_QUEUE, INSIGHT_EVENTS_QUEUE, WALLET_EVENTS_QUEUE, type DomainEvent, type EventSink } from '../core/events/event.types.js';
import { createQueueEventSink } from './event-sink.js';
import { createQueueFactory, type QueueFactory } from './queue.factory.js';
import { createRedis, pingRedis, type Redis } from './redis.js';
import { provideMongo, provideRedis, type Endpoint, type Storage } from './servers.js';
import type { Shutdown } from './shutdown.js';
import { createPassPool } from './wallet/pass-pool.js';
import { createDevWalletCertificates, readDevWalletCertificates } from './wallet/wallet-dev-certs.js';
import { devCertsDir, resolveWalletSetup, type ApnsSetup, type WalletSetup } from './wallet/wallet-setup.js';

/**
 * The composition root's half in infra: servers found or started, connections, the wired core,
 * queues and the wallet. main.ts (and the admin CLI, with the lean part only) builds this once
 * and hands each role the pieces it needs; no adapter receives the runtime or a connection.
 */

/** The lean runtime: MongoDB (found or started) and the wired core on it. Enough for the admin CLI. */
export interface CoreRuntime {
  config: Config;
  logger: Logger;
  /** The wired domain, indexes and default settings in place. */
  core: Core;
  endpoints: { mongo: Endpoint };
  /** Resolves when MongoDB answers (readiness). */
  pingMongo(): Promise<void>;
}

/** Everything the roles need: the core, Redis and queues, the wallet, the admin token. */
export interface Runtime extends CoreRuntime {
  redis: Redis;
  queues: QueueFactory;
  /** Where domain events go: the consumers' queues (notifications, and the wallet when on). */
  events: EventSink;
  endpoints: { mongo: Endpoint; redis: Endpoint };
  adminToken: string;
  i18n: I18n;
  /** Apple Wallet passes, when certificates are configured (or dev ones on a laptop). */
  wallet: { wallet: Wallet; apns: ApnsSetup | null } | null;
  /** Readiness checks for /readyz: each resolves when its server answers. */
  health: Record<string, () => Promise<void>>;
}

/**
 * Wallet set-up, before any server starts so bad certificates stop start-up at once. On a
 * laptop (not production, nothing configured) throw-away dev certificates are made on the
 * first start, so the whole wallet path works without an Apple account.
 */
async function walletSetup(config: Config, print: (line: string) => void): Promise<WalletSetup> {
  const dir = devCertsDir(config);
  if (!config.wallet.credentials && config.env !== 'production' && !readDevWalletCertificates(dir)) {
    await createDevWalletCertificates(dir);
    print(`Wallet: made throw-away dev certificates in ${dir} (NOT FOR PRODUCTION)`);
  }
  return resolveWalletSetup(config);
}

/**
 * The admin token: ADMIN_TOKEN when set; else one generated on the first embedded start,
 * kept in DATA_DIR/admin-token and printed once.
 */
export function resolveAdminToken(config: Config, print: (line: string) => void): string {
  if (config.adminToken) return config.adminToken;
  const file = resolve(config.dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(resolve(config.dataDir), { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  print(`Admin token (shown once, kept in ${file}): ${token}`);
  return token;
}

/**
 * The key of the phone hashes (bonuses once per phone): PHONE_HASH_SECRET when set; else one
 * generated once into DATA_DIR/phone-hash-secret, which every process on this machine reads.
 * Outside the database on purpose: a dump alone cannot be matched against all phone numbers.
 */
export function resolvePhoneHashSecret(config: Pick<Config, 'dataDir' | 'phoneHashSecret'>): string {
  if (config.phoneHashSecret) return config.phoneHashSecret;
  const file = resolve(config.dataDir, 'phone-hash-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(resolve(config.dataDir), { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

const storageOf = (config: Config, storage: Storage | undefined): Storage => storage ?? { kind: 'dir', path: join(config.dataDir) };

/** MongoDB and the core only: no Redis, no wallet (no signing threads, no dev certificates). */
export async function startCoreRuntime(config: Config, logger: Logger, shutdown: Shutdown, opts: { storage?: Storage } = {}): Promise<CoreRuntime> {
  const mongoEp = await provideMongo({
    url: config.mongo.kind === 'external' ? config.mongo.url : undefined,
    ferretdbBin: config.mongo.ferretdbBin,
    storage: storageOf(config, opts.storage),
  });
  shutdown.add('mongo server', () => mongoEp.stop());
  const mongo = await connectMongo(mongoEp.url, config.mongo.db, config.mongo.connectTimeoutMs, { maxPoolSize: poolSizeFor(mongoEp.source) });
  shutdown.add('mongo connection', () => mongo.close());
  // Until a full runtime hands it the queues, the core records events in the outbox collection,
  // which a worker's relay delivers: a lean process (the admin CLI) loses none.
  const core = createCore({
    conn: mongo,
    guardedCardWrites: !(await isFerretdb(mongo)),
    ledgerBudgetMs: config.ledgerBudgetMs,
    timeZone: config.insight.timeZone,
    panelSessions: { idleMs: config.panel.idleMs, maxMs: config.panel.maxMs },
    phoneHashSecret: resolvePhoneHashSecret(config),
    log: (msg, err) => logger.warn({ err }, msg),
  });
  await core.init();
  shutdown.add('ledger', () => {
    core.close();
  });
  return { config, logger, core, endpoints: { mongo: mongoEp }, pingMongo: () => pingMongo(mongo) };
}

export async function startRuntime(
  config: Config,
  logger: Logger,
  shutdown: Shutdown,
  opts: { storage?: Storage; print?: (line: string) => void } = {},
): Promise<Runtime> {
  const storage = storageOf(config, opts.storage);
  const print = opts.print ?? ((l: string) => logger.info(l));
  const wsetup = await walletSetup(config, print);
  const base = await startCoreRuntime(config, logger, shutdown, { storage });
  const { core } = base;
  const redisEp = await provideRedis({ url: config.redis.kind === 'external' ? config.redis.url : undefined, storage });
  shutdown.add('redis server', () => redisEp.stop());
  const redis = createRedis(redisEp.url);
  shutdown.add('redis connection', () => {
    redis.disconnect();
  });
  try {
    await redis.connect();
  } catch (err) {
    throw new Error(`Cannot reach Redis at ${redisEp.url}: ${(err as Error).message}`);
  }
  const queues = createQueueFactory(redisEp.url, config.queuePrefix);
  shutdown.add('queues', () => queues.close());
  // Every process that records movements hands their events straight to the consumers' queues.
  const retried = { attempts: 5, backoff: { type: 'exponential' as const, delay: 2000 } };
  const eventQueues = [
    queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE, retried),
    queues.queue<DomainEvent>(INSIGHT_EVENTS_QUEUE, retried),
    ...(wsetup.enabled ? [queues.queue<DomainEvent>(WALLET_EVENTS_QUEUE, retried)] : []),
  ];
  const events = createQueueEventSink(eventQueues);
  core.useEventSink(events);
  const adminToken = resolveAdminToken(config, print);
  const i18n = await createI18n();
  let wallet: Runtime['wallet'] = null;
  if (wsetup.enabled) {
    const generator = createPassPool({ pem: wsetup.signer.pem, threads: config.wallet.poolSize });
    shutdown.add('pass signing threads', () => generator.close());
    const w = core.createWallet({
      i18n,
      passTypeId: wsetup.signer.passTypeId,
      teamId: wsetup.signer.teamId,
      organizationName: config.wallet.organizationName,
      publicUrl: config.http.publicUrl,
      linkSecret: wsetup.linkSecret,
      generator,
    });
    await w.init();
    wallet = { wallet: w, apns: wsetup.apns };
  }
  print(wsetup.enabled ? wsetup.summary : `Wallet: off, ${wsetup.reason}`);
  return {
    ...base,
    redis,
    queues,
    events,
    endpoints: { mongo: base.endpoints.mongo, redis: redisEp },
    adminToken,
    i18n,
    wallet,
    health: { mongo: base.pingMongo, redis: () => pingRedis(redis) },
  };
}
