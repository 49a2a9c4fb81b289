import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../core/config.js';
import { createCore, type Core } from '../core/core.js';
import { createI18n } from '../core/i18n/i18n.js';
import { createDevWalletCertificates, readDevWalletCertificates } from '../core/wallet/wallet-dev-certs.js';
import { createPassPool } from '../core/wallet/pass-pool.js';
import { devCertsDir, resolveWalletSetup, type ApnsSetup, type WalletSetup } from '../core/wallet/wallet-setup.js';
import { createWallet, type Wallet } from '../core/wallet/wallet.service.js';
import type { Logger } from './logger.js';
import { connectMongo, poolSizeFor, type Connection } from './mongo.js';
import { createQueueFactory, type QueueFactory } from './queue.factory.js';
import { createRedis, type Redis } from './redis.js';
import { provideMongo, provideRedis, type Endpoint, type Storage } from './servers.js';
import type { Shutdown } from './shutdown.js';

/** Everything a role needs: connected Mongo and Redis, queues, and who serves them. */
export interface Runtime {
  config: Config;
  logger: Logger;
  mongo: Connection;
  /** The wired domain on `mongo`, indexes and default settings in place. */
  core: Core;
  redis: Redis;
  queues: QueueFactory;
  endpoints: { mongo: Endpoint; redis: Endpoint };
  adminToken: string;
  /** Apple Wallet passes, when certificates are configured (or dev ones on a laptop). */
  wallet: { wallet: Wallet; apns: ApnsSetup | null } | null;
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

export async function startRuntime(
  config: Config,
  logger: Logger,
  shutdown: Shutdown,
  opts: { storage?: Storage; print?: (line: string) => void } = {},
): Promise<Runtime> {
  const storage: Storage = opts.storage ?? { kind: 'dir', path: join(config.dataDir) };
  const print = opts.print ?? ((l: string) => logger.info(l));
  const wsetup = await walletSetup(config, print);
  const mongoEp = await provideMongo({
    url: config.mongo.kind === 'external' ? config.mongo.url : undefined,
    ferretdbBin: config.mongo.ferretdbBin,
    storage,
  });
  shutdown.add('mongo server', () => mongoEp.stop());
  const redisEp = await provideRedis({ url: config.redis.kind === 'external' ? config.redis.url : undefined, storage });
  shutdown.add('redis server', () => redisEp.stop());

  const mongo = await connectMongo(mongoEp.url, config.mongo.db, config.mongo.connectTimeoutMs, { maxPoolSize: poolSizeFor(mongoEp.source) });
  shutdown.add('mongo connection', () => mongo.close());
  const core = createCore({ conn: mongo, timeZone: config.insight.timeZone });
  await core.init();
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
  const adminToken = resolveAdminToken(config, print);
  let wallet: Runtime['wallet'] = null;
  if (wsetup.enabled) {
    const generator = createPassPool({ pem: wsetup.signer.pem, threads: config.wallet.poolSize });
    shutdown.add('pass signing threads', () => generator.close());
    const w = createWallet({
      conn: mongo,
      cards: core.cards,
      members: core.members,
      settings: () => core.settings.current(),
      i18n: await createI18n(),
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
  return { config, logger, mongo, core, redis, queues, endpoints: { mongo: mongoEp, redis: redisEp }, adminToken, wallet };
}
