import mongoose, { type Connection } from 'mongoose';
import { withTimeout } from './timeout.js';

export type { Connection };

/**
 * The embedded FerretDB sits behind our wire proxy (infra/wire-proxy.ts), which sends every
 * write of a database through one upstream connection and reads over a few: so a small pool is
 * safe and lets reads overlap. MongoDB gets the driver's normal pool.
 */
export function poolSizeFor(source: string): number | undefined {
  return source === 'ferretdb' ? 8 : undefined;
}

/**
 * Whether the server is FerretDB (embedded, or an external one given as MONGODB_URL): it
 * answers buildInfo with `ferretdbVersion`. The ledger then writes cards by `_id` alone
 * (docs/ledger.md, "FerretDB").
 */
export async function isFerretdb(conn: Connection): Promise<boolean> {
  const db = conn.db;
  if (!db) return false;
  const info = await db.admin().command({ buildInfo: 1 });
  return 'ferretdbVersion' in info;
}

/** Connects with a bounded server selection, so a wrong MONGODB_URL fails fast and clearly. */
export async function connectMongo(
  url: string,
  dbName: string,
  timeoutMs: number,
  opts: { maxPoolSize?: number | undefined; monitorCommands?: boolean } = {},
): Promise<Connection> {
  const conn = mongoose.createConnection(url, {
    dbName,
    ...(opts.maxPoolSize ? { maxPoolSize: opts.maxPoolSize } : {}),
    // The benchmarks count the commands each operation sends (the driver's command monitoring).
    ...(opts.monitorCommands ? { monitorCommands: true } : {}),
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    // Indexes are built explicitly by each repository's init(), not lazily on first use.
    autoIndex: false,
    autoCreate: true,
  });
  try {
    await conn.asPromise();
  } catch (err) {
    await conn.close(true).catch(() => undefined);
    throw new Error(`Cannot reach MongoDB at ${redactUrl(url)} within ${timeoutMs} ms: ${(err as Error).message}`);
  }
  return conn;
}

export async function pingMongo(conn: Connection): Promise<void> {
  const db = conn.db;
  if (!db || conn.readyState !== mongoose.ConnectionStates.connected) throw new Error('mongo not connected');
  await withTimeout(db.command({ ping: 1 }), 1500, 'mongo ping timed out');
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
