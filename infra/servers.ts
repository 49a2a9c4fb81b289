import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { freePort, spawnGuarded, waitForPort, type GuardedChild } from './child.process.js';
import { startWireProxy } from './wire-proxy.js';

/**
 * Finds or starts MongoDB and Redis; used by `npm start`, the tests and bench/.
 * MongoDB: MONGODB_URL, else FerretDB v1 (SQLite), else a local mongod through
 * mongodb-memory-server (only an already installed binary: we never download at run time).
 * Redis: REDIS_URL, else `redis-server` from PATH.
 * FerretDB is reached through our wire proxy (infra/wire-proxy.ts): it serializes writes per
 * database (FerretDB's updates are not atomic across connections) and gets FerretDB's `_id`
 * lookups an index (infra/ferretdb-index).
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

/** ferretdb-index: beside the ferretdb binary, on PATH, or in .tools/bin (scripts/install-ferretdb.mjs). */
export function findFerretdbIndexer(ferretdbBin: string): string | undefined {
  const candidates = [join(dirname(ferretdbBin), 'ferretdb-index'), onPath('ferretdb-index'), join(projectRoot, '.tools/bin/ferretdb-index')];
  return candidates.find((p): p is string => p !== undefined && executable(p));
}

/**
 * Indexes the collections already on disk before FerretDB opens them (no lock to wait for).
 * Without the index FerretDB still works, only its `_id` lookups scan, so failures are logged.
 */
async function indexExisting(indexer: string, dir: string, log: (line: string) => void): Promise<void> {
  if (!readdirSync(dir).some((f) => f.endsWith('.sqlite'))) return;
  await new Promise<void>((done) => {
    execFile(indexer, [dir], { timeout: 120_000 }, (err, _stdout, stderr) => {
      if (err) log(`ferretdb-index on ${dir} failed: ${stderr.trim() || err.message}`);
      done();
    });
  });
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

/**
 * FerretDB itself on a private loopback port over the SQLite files in `dir`. Only the wire proxy
 * (and tests of it) talk to it directly.
 */
export async function spawnFerretdb(bin: string, dir: string): Promise<{ port: number; child: GuardedChild }> {
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
  await waitForPort(child, port, 20_000);
  return { port, child };
}

async function startFerretdb(bin: string, storage: Storage, log: (line: string) => void): Promise<Endpoint> {
  const { dir, cleanup } = storageDir(storage, 'mongo');
  const indexerBin = findFerretdbIndexer(bin);
  if (indexerBin) await indexExisting(indexerBin, dir, log);
  else log('ferretdb-index not found (run `npm run tools:ferretdb`): FerretDB will scan whole tables for _id lookups');
  let ferret: Awaited<ReturnType<typeof spawnFerretdb>>;
  try {
    ferret = await spawnFerretdb(bin, dir);
  } catch (err) {
    cleanup();
    throw err;
  }
  const { child } = ferret;
  let proxy: Awaited<ReturnType<typeof startWireProxy>>;
  try {
    proxy = await startWireProxy({ upstreamPort: ferret.port, dataDir: dir, indexerBin, log });
  } catch (err) {
    await child.stop();
    cleanup();
    throw err;
  }
  return {
    url: proxy.url,
    source: 'ferretdb',
    pid: child.process.pid,
    async stop() {
      await proxy.close();
      await child.stop();
      cleanup();
    },
  };
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

export async function provideMongo(opts: {
  url?: string | undefined;
  ferretdbBin?: string | undefined;
  storage: Storage;
  /** Problems of the embedded FerretDB's helpers (indexer, proxy); stderr by default. */
  log?: (line: string) => void;
}): Promise<Endpoint> {
  if (opts.url) return { url: opts.url, source: 'external', pid: undefined, stop: async () => undefined };
  const bin = findFerretdb(opts.ferretdbBin);
  const log = opts.log ?? ((line: string) => process.stderr.write(`[ferretdb] ${line}\n`));
  if (bin) return startFerretdb(bin, opts.storage, log);
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
