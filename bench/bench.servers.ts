import { createCore, type Core } from '../core/core.js';
import { connectMongo, poolSizeFor, type Connection } from '../infra/mongo.js';
import { provideMongo, type Endpoint } from '../infra/servers.js';

/** Benchmarks use the same servers module as `npm start` and the tests: MONGODB_URL or an embedded FerretDB. */
export async function benchCore(): Promise<{ conn: Connection; core: Core; mongo: Endpoint; close(): Promise<void> }> {
  const mongo = await provideMongo({ url: process.env.MONGODB_URL, ferretdbBin: process.env.FERRETDB_BIN, storage: { kind: 'temp' } });
  const conn = await connectMongo(mongo.url, `bench_${Date.now()}`, 10_000, { maxPoolSize: poolSizeFor(mongo.source) });
  const core = createCore({ conn });
  await core.init();
  return {
    conn,
    core,
    mongo,
    async close() {
      await conn.dropDatabase().catch(() => undefined);
      await conn.close();
      await mongo.stop();
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summary(samples: number[]): { n: number; mean: number; p50: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p50: percentile(s, 50), p99: percentile(s, 99) };
}

export function progress(label: string, done: number, total: number): void {
  if (done === total || done % Math.max(1, Math.floor(total / 10)) === 0) process.stderr.write(`  ${label}: ${done}/${total}\r${done === total ? '\n' : ''}`);
}
