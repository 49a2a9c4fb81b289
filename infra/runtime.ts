import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../core/config.js';
import { createCore, type Core } from '../core/core.js';
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
  const core = createCore({ conn: mongo });
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
  const adminToken = resolveAdminToken(config, opts.print ?? ((l) => logger.info(l)));
  return { config, logger, mongo, core, redis, queues, endpoints: { mongo: mongoEp, redis: redisEp }, adminToken };
}
