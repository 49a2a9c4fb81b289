import { randomBytes } from 'node:crypto';
import { createCore, type Core } from '../core/core.js';
import { DOMAIN_EVENTS_QUEUE, type DomainEvent } from '../core/events/event.types.js';
import { createQueueEventSink } from '../infra/event-sink.js';
import { connectMongo, poolSizeFor, type Connection } from '../infra/mongo.js';
import { createQueueFactory } from '../infra/queue.factory.js';
import { provideMongo, provideRedis, type Endpoint } from '../infra/servers.js';

/**
 * Benchmarks use the same servers module as `npm start` and the tests: MONGODB_URL (REDIS_URL)
 * or embedded FerretDB and redis-server. The core is wired as the runtime wires it, events
 * handed to a BullMQ queue included, so what is measured is what a till pays.
 */
export async function benchCore(): Promise<{ conn: Connection; core: Core; mongo: Endpoint; redis: Endpoint; commands: CommandCounter; close(): Promise<void> }> {
  const [mongo, redis] = await Promise.all([
    provideMongo({ url: process.env.MONGODB_URL, ferretdbBin: process.env.FERRETDB_BIN, storage: { kind: 'temp' } }),
    provideRedis({ url: process.env.REDIS_URL, storage: { kind: 'temp' } }),
  ]);
  const conn = await connectMongo(mongo.url, `bench_${Date.now()}`, 10_000, { maxPoolSize: poolSizeFor(mongo.source), monitorCommands: true });
  const commands = countCommands(conn);
  const queues = createQueueFactory(redis.url, `bench_${Date.now()}`);
  const events = createQueueEventSink([queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE, { removeOnComplete: true })]);
  const core = createCore({ conn, events, guardedCardWrites: mongo.source !== 'ferretdb', phoneHashSecret: randomBytes(32).toString('hex') });
  await core.init();
  return {
    conn,
    core,
    mongo,
    redis,
    commands,
    async close() {
      core.close();
      await queues.close();
      await conn.dropDatabase().catch(() => undefined);
      await conn.close();
      await Promise.all([mongo.stop(), redis.stop()]);
    },
  };
}

/** Counts the commands the driver sends (command monitoring), by command name. */
export interface CommandCounter {
  /** Starts a fresh tally; `stop()` returns it. */
  start(): void;
  stop(): Record<string, number>;
}

export function countCommands(conn: Connection): CommandCounter {
  let tally: Record<string, number> | null = null;
  conn.getClient().on('commandStarted', (e: { commandName: string; command: Record<string, unknown> }) => {
    // Driver housekeeping (handshakes, heartbeats) is not the operation's work.
    if (!tally || ['hello', 'ismaster', 'isMaster', 'ping', 'endSessions'].includes(e.commandName)) return;
    // The programme settings are re-read at most once a second per process, whatever the load
    // (settings.repository.ts): a clock-driven read, tallied apart from the operation's commands.
    const name = e.command[e.commandName] === 'programme_settings' ? SETTINGS_REFRESH : e.commandName;
    tally[name] = (tally[name] ?? 0) + 1;
  });
  return {
    start() {
      tally = {};
    },
    stop() {
      const t = tally ?? {};
      tally = null;
      return t;
    },
  };
}

/** The tally's key for the once-a-second settings read. */
export const SETTINGS_REFRESH = 'settings refresh';

/** Commands of the operation itself (the clock-driven settings refresh left out). */
export function total(t: Record<string, number>): number {
  return Object.entries(t).reduce((a, [k, v]) => (k === SETTINGS_REFRESH ? a : a + v), 0);
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
