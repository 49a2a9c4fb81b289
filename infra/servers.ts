import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { freePort, spawnGuarded, waitForPort, type GuardedChild } from './child.process.js';

/**
 * Finds or starts MongoDB and Redis; used by `npm start`, the tests and bench/.
 * MongoDB: MONGODB_URL, else FerretDB v1 (SQLite), else a local mongod through
 * mongodb-memory-server (only an already installed binary: we never download at run time).
 * Redis: REDIS_URL, else `redis-server` from PATH.
 */
export interface Endpoint {
  url: string;
  /** What serves it: 'external' when configured, else the program we started. */
  source: 'external' | 'ferretdb' | 'mongod' | 'redis-server';
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Where embedded servers keep data: a folder (npm start) or a throw-away temp folder (tests). */
export type Storage = { kind: 'dir'; path: string } | { kind: 'temp' };

const projectRoot = resolve(import.meta.dirname, '..');

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function findFerretdb(explicit?: string): string | undefined {
  if (explicit) return executable(explicit) ? explicit : undefined;
  return onPath('ferretdb') ?? (executable(join(projectRoot, '.tools/bin/ferretdb')) ? join(projectRoot, '.tools/bin/ferretdb') : undefined);
}

function storageDir(storage: Storage, sub: string): { dir: string; cleanup: () => void } {
  if (storage.kind === 'dir') {
    const dir = resolve(storage.path, sub);
    mkdirSync(dir, { recursive: true });
    return { dir, cleanup: () => undefined };
  }
  const dir = mkdtempSync(join(tmpdir(), `loyalty-${sub}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function endpoint(url: string, source: Endpoint['source'], child: GuardedChild, cleanup: () => void): Endpoint {
  return {
    url,
    source,
    pid: child.process.pid,
    async stop() {
      await child.stop();
      cleanup();
    },
  };
}

async function startFerretdb(bin: string, storage: Storage): Promise<Endpoint> {
  const { dir, cleanup } = storageDir(storage, 'mongo');
  const port = await freePort();
  const child = spawnGuarded(
    'ferretdb',
    bin,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--telemetry=disable',
      '--debug-addr=-',
      '--log-level=error',
    ],
    { ...process.env, DO_NOT_TRACK: '1', FERRETDB_TELEMETRY: 'disable' },
  );
  try {
    await waitForPort(child, port, 20_000);
  } catch (err) {
    cleanup();
    throw err;
  }
  return endpoint(`mongodb://127.0.0.1:${port}/`, 'ferretdb', child, cleanup);
}

async function startMongod(storage: Storage): Promise<Endpoint | undefined> {
  const binary = process.env.MONGOMS_SYSTEM_BINARY ?? onPath('mongod');
  if (!binary) return undefined;
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  const { dir, cleanup } = storageDir(storage, 'mongod');
  const server = await MongoMemoryServer.create({ binary: { systemBinary: binary }, instance: { dbPath: dir, ip: '127.0.0.1' } });
  const pid = server.instanceInfo?.instance.mongodProcess?.pid;
  return {
    url: server.getUri(),
    source: 'mongod',
    pid,
    async stop() {
      await server.stop({ doCleanup: storage.kind === 'temp' });
      cleanup();
    },
  };
}

export class NoServerError extends Error {
  readonly code = 'no_server';
}

export async function provideMongo(opts: { url?: string | undefined; ferretdbBin?: string | undefined; storage: Storage }): Promise<Endpoint> {
  if (opts.url) return { url: opts.url, source: 'external', pid: undefined, stop: async () => undefined };
  const bin = findFerretdb(opts.ferretdbBin);
  if (bin) return startFerretdb(bin, opts.storage);
  const mongod = await startMongod(opts.storage);
  if (mongod) return mongod;
  throw new NoServerError(
    'No MongoDB available. Set MONGODB_URL to a running MongoDB, or install FerretDB with ' +
      '`npm run tools:ferretdb` (needs Go), or put ferretdb/mongod on PATH (FERRETDB_BIN / MONGOMS_SYSTEM_BINARY).',
  );
}

export async function provideRedis(opts: { url?: string | undefined; storage: Storage }): Promise<Endpoint> {
  if (opts.url) return { url: opts.url, source: 'external', pid: undefined, stop: async () => undefined };
  const bin = onPath('redis-server');
  if (!bin) {
    throw new NoServerError('No Redis available. Set REDIS_URL, or install redis-server (e.g. `apt-get install redis-server`).');
  }
  const { dir, cleanup } = storageDir(opts.storage, 'redis');
  const port = await freePort();
  // Tests keep nothing on disk; npm start keeps an append-only file in ./data/redis.
  const persistence = opts.storage.kind === 'dir' ? ['--appendonly', 'yes'] : ['--save', '', '--appendonly', 'no'];
  const child = spawnGuarded('redis-server', bin, [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...persistence, '--loglevel', 'warning',
  ]);
  try {
    await waitForPort(child, port, 10_000);
  } catch (err) {
    cleanup();
    throw err;
  }
  return endpoint(`redis://127.0.0.1:${port}`, 'redis-server', child, cleanup);
}
