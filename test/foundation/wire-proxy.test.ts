import { execFile } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BSON, type Document } from 'bson';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { GuardedChild } from '../../infra/child.process.js';
import { findFerretdb, findFerretdbIndexer, provideMongo, spawnFerretdb } from '../../infra/servers.js';
import { startWireProxy, type WireProxy } from '../../infra/wire-proxy.js';
import { uniqueName } from '../helpers/env.js';

const { MongoClient } = mongoose.mongo;
type Client = InstanceType<typeof MongoClient>;
const run = promisify(execFile);

const OP_MSG = 2013;
const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;
const EXHAUST_ALLOWED = 1 << 16;

/** Bounded poll: resolves as soon as `cond` holds, fails after `timeoutMs`. */
async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A gate a paused lane waits on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

function ferretdbBins(): { ferretdb: string; indexer: string } {
  const ferretdb = findFerretdb(process.env.FERRETDB_BIN);
  if (!ferretdb) throw new Error('these tests need FerretDB: run `npm run tools:ferretdb`');
  const indexer = findFerretdbIndexer(ferretdb);
  if (!indexer) throw new Error('these tests need ferretdb-index: run `npm run tools:ferretdb`');
  return { ferretdb, indexer };
}

/** Version-guarded read-modify-write increments from both pools until `target` were acknowledged. */
async function optimisticIncrements(a: Client, b: Client, db: string, target: number): Promise<{ acknowledged: number; stored: number }> {
  const counters = (c: Client) => c.db(db).collection<{ _id: string; v: number; n: number }>('counters');
  await counters(a).insertOne({ _id: 'optimistic', v: 0, n: 0 });
  let acknowledged = 0;
  const worker = async (c: Client): Promise<void> => {
    while (acknowledged < target) {
      const doc = await counters(c).findOne({ _id: 'optimistic' });
      const r = await counters(c).updateOne({ _id: 'optimistic', v: doc!.v }, { $set: { v: doc!.v + 1 }, $inc: { n: 1 } });
      acknowledged += r.modifiedCount;
    }
  };
  await Promise.all(Array.from({ length: 20 }, (_, i) => worker(i % 2 ? a : b)));
  const final = await counters(a).findOne({ _id: 'optimistic' });
  return { acknowledged, stored: final!.n };
}

/** 200 concurrent `$inc` of one counter, half from each pool. */
async function concurrentIncs(a: Client, b: Client, db: string): Promise<number> {
  const counters = (c: Client) => c.db(db).collection<{ _id: string; n: number }>('counters');
  await counters(a).insertOne({ _id: 'inc', n: 0 });
  await Promise.all(Array.from({ length: 200 }, (_, i) => counters(i % 2 ? a : b).updateOne({ _id: 'inc' }, { $inc: { n: 1 } })));
  return (await counters(a).findOne({ _id: 'inc' }))!.n;
}

async function twoPools(url: string): Promise<[Client, Client]> {
  const a = new MongoClient(url, { maxPoolSize: 20 });
  const b = new MongoClient(url, { maxPoolSize: 20 });
  await Promise.all([a.connect(), b.connect()]);
  return [a, b];
}

describe('wire proxy in front of FerretDB: writes are serialized per database', () => {
  it('two pools of 20 connections lose no update (through the proxy every acknowledged increment is stored)', async () => {
    // Without the proxy (two pools straight to FerretDB) the same workload stored 69 of 300
    // acknowledged version-guarded increments and 11 of 200 `$inc`: FerretDB reads, updates
    // in Go and writes back, and two connections interleave. The proxy gives each database
    // one upstream connection for writes, so they cannot.
    const [a, b] = await twoPools(inject('mongoUrl'));
    try {
      const db = uniqueName('lost');
      const optimistic = await optimisticIncrements(a, b, db, 300);
      expect(optimistic.acknowledged).toBeGreaterThanOrEqual(300);
      expect(optimistic.stored).toBe(optimistic.acknowledged);
      expect(await concurrentIncs(a, b, db)).toBe(200);
      await a.db(db).dropDatabase();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});

describe('wire proxy on a dedicated FerretDB', () => {
  let dir: string;
  let ferret: { port: number; child: GuardedChild };
  let bins: { ferretdb: string; indexer: string };
  const proxies: WireProxy[] = [];
  const clients: Client[] = [];
  const logs: string[] = [];

  async function proxy(opts: Partial<Parameters<typeof startWireProxy>[0]> = {}): Promise<WireProxy> {
    const p = await startWireProxy({ upstreamPort: ferret.port, dataDir: dir, indexerBin: bins.indexer, log: (l) => logs.push(l), ...opts });
    proxies.push(p);
    return p;
  }
  async function client(url: string, maxPoolSize = 10): Promise<Client> {
    const c = new MongoClient(url, { maxPoolSize });
    clients.push(c);
    await c.connect();
    return c;
  }

  beforeAll(async () => {
    bins = ferretdbBins();
    dir = mkdtempSync(join(tmpdir(), 'wire-proxy-'));
    ferret = await spawnFerretdb(bins.ferretdb, dir);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await ferret.child.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('documents the defect: straight to FerretDB, concurrent $inc from two pools lose updates', async () => {
    const direct = `mongodb://127.0.0.1:${ferret.port}/`;
    const [a, b] = await twoPools(direct);
    clients.push(a, b);
    const stored = await concurrentIncs(a, b, uniqueName('direct'));
    console.log(`[wire-proxy test] straight to FerretDB: ${stored} of 200 concurrent $inc stored`);
    // Measured here: 11 of 200. It reproduces every time, yet it is a race: we only claim one loss.
    expect(stored).toBeLessThan(200);
  }, 60_000);

  it('a cursor read over many getMore batches stays on its lane while writes run', async () => {
    const seen: { lane: string; command: string }[] = [];
    const p = await proxy({ readLanes: 4, beforeForward: (op) => void seen.push(op) });
    const c = await client(p.url);
    const other = await client(p.url);
    const db = c.db(uniqueName('cursor'));
    await db.collection('items').insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: `i${String(i).padStart(4, '0')}`, n: 0 })) as never[]);

    const ids = new Set<string>();
    let i = 0;
    for await (const doc of db.collection<{ _id: string }>('items').find({}, { batchSize: 100 })) {
      ids.add(doc._id);
      if (++i % 100 === 0 && i < 1000) {
        // Writes and other reads between batches: other lanes get busy, the cursor keeps its own.
        await db.collection('items').updateOne({ _id: 'i0000' as never }, { $inc: { n: 1 } });
        await db.collection('log').insertOne({ at: i });
        await Promise.all([other.db(db.databaseName).collection('items').countDocuments(), other.db(db.databaseName).collection('log').find().toArray()]);
        expect(p.stats().cursors).toBe(1);
      }
    }
    expect(ids.size).toBe(1000);
    const find = seen.find((s) => s.command === 'find' && s.lane.startsWith('read:'));
    const getMores = seen.filter((s) => s.command === 'getMore');
    expect(getMores.length).toBeGreaterThanOrEqual(9);
    expect(new Set(getMores.map((g) => g.lane))).toEqual(new Set([find!.lane]));
    expect(new Set(seen.filter((s) => s.lane.startsWith('read:')).map((s) => s.lane)).size).toBeGreaterThan(1);
    expect(await db.collection('items').findOne({ _id: 'i0000' as never })).toMatchObject({ n: 9 });
    expect(await db.collection('log').countDocuments()).toBe(9);
    // The exhausted cursor is no longer pinned.
    expect(p.stats().cursors).toBe(0);
  }, 60_000);

  it('a heartbeat is answered while every read lane is held by a long read', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const p = await proxy({ readLanes: 2, beforeForward: (op) => (op.lane.startsWith('read:') && op.command === 'find' ? held : undefined) });
    const c = await client(p.url);
    const db = c.db(uniqueName('heartbeat'));
    await db.collection('items').insertOne({ _id: 'a' as never });
    // Both read lanes now wait on a find (a stand-in for a scan of a big collection).
    const reads = [db.collection('items').find().toArray(), db.collection('items').find().toArray()];
    await waitFor(() => p.stats().lanes.filter((l) => l.name.startsWith('read:') && l.busy).length === 2, 'both read lanes busy');
    // The driver's monitor sends hello and ping: they do not queue behind the reads.
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    expect(await db.command({ hello: 1 })).toMatchObject({ ok: 1 });
    expect(p.stats().lanes.filter((l) => l.name.startsWith('read:') && l.busy)).toHaveLength(2);
    release();
    expect((await Promise.all(reads)).map((r) => r.length)).toEqual([1, 1]);
  }, 60_000);

  it('after the first write to a collection its _id lookups use an index (and again after a drop)', async () => {
    const p = await proxy();
    const c = await client(p.url);
    const dbName = uniqueName('idx');
    const file = join(dir, `${dbName}.sqlite`);
    const listed = async (): Promise<string> => (await run(bins.indexer, ['--list', file])).stdout;
    const hasIdIndex = async (coll: string): Promise<boolean> => (await listed()).split('\n').some((l) => l.startsWith(`${coll}\t`) && l.includes('\t_ferretdb_idexpr_'));

    await c.db(dbName).collection('cards').insertOne({ _id: 'c1' as never, n: 1 });
    await waitFor(() => hasIdIndex('cards'), 'the _id index on cards');
    const plan = (await run(bins.indexer, ['--explain', file, 'cards'])).stdout;
    // FerretDB's own statements for findById and for every update now search, not scan.
    expect(plan).toMatch(/^select\tSEARCH \S+ USING INDEX _ferretdb_idexpr_/m);
    expect(plan).toMatch(/^update\tSEARCH \S+ USING INDEX _ferretdb_idexpr_/m);
    // FerretDB's own `_id_` index is still there, and listIndexes shows only FerretDB's indexes.
    expect(await listed()).toMatch(/^cards\t\S+\t\S+__id_$/m);
    expect((await c.db(dbName).collection('cards').indexes()).map((i) => i.name)).toEqual(['_id_']);

    // A dropped collection loses its table and index; the next first write indexes it again.
    await c.db(dbName).collection('cards').drop();
    expect(await hasIdIndex('cards')).toBe(false);
    await c.db(dbName).collection('cards').insertOne({ _id: 'c2' as never });
    await waitFor(() => hasIdIndex('cards'), 'the _id index on the re-created cards');

    // A write that creates nothing (an update of a missing collection) does not make the
    // collection count as indexed: the insert that creates it later still gets the index.
    await c.db(dbName).collection('later').updateOne({ _id: 'x' as never }, { $set: { a: 1 } });
    await c.db(dbName).collection('later').insertOne({ _id: 'x' as never });
    await waitFor(() => hasIdIndex('later'), 'the _id index on later');
    expect(p.stats().indexFailures).toBe(0);
  }, 60_000);

  it('indexes the collections already on disk when the embedded server starts', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wire-proxy-start-'));
    try {
      const mongoDir = join(root, 'mongo');
      mkdirSync(mongoDir);
      const raw = await spawnFerretdb(bins.ferretdb, mongoDir);
      const c = new MongoClient(`mongodb://127.0.0.1:${raw.port}/`);
      await c.db('shop').collection('members').insertOne({ _id: 'm1' as never });
      await c.close();
      await raw.child.stop();
      const file = join(mongoDir, 'shop.sqlite');
      expect((await run(bins.indexer, ['--list', file])).stdout).not.toContain('_ferretdb_idexpr_');

      const ep = await provideMongo({ ferretdbBin: bins.ferretdb, storage: { kind: 'dir', path: root }, log: (l) => logs.push(l) });
      try {
        expect((await run(bins.indexer, ['--list', file])).stdout).toMatch(/^members\t\S+\t_ferretdb_idexpr_/m);
        const c2 = new MongoClient(ep.url);
        expect(await c2.db('shop').collection('members').findOne({ _id: 'm1' as never })).toEqual({ _id: 'm1' });
        await c2.close();
      } finally {
        await ep.stop();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  it('a paused write lane holds back only its own database', async () => {
    const slow = uniqueName('slow');
    const fast = uniqueName('fast');
    const held = gate();
    const entered = new EventEmitter();
    const order: string[] = [];
    let holding = false;
    const p = await proxy({
      beforeForward: async (op) => {
        if (!holding || op.command !== 'insert') return;
        order.push(op.db);
        if (op.db === slow) {
          entered.emit('entered');
          await held.wait;
        }
      },
    });
    const c = await client(p.url);
    await c.db(slow).collection('docs').insertOne({ _id: 'seed' as never });
    holding = true;
    const armed = once(entered, 'entered');
    let slowDone = false;
    const slowInsert = c.db(slow).collection('docs').insertOne({ _id: 'first' as never }).then(() => (slowDone = true));
    await armed;
    // The slow database's lane is held; a second write to it queues behind the first…
    const second = c.db(slow).collection('docs').insertOne({ _id: 'second' as never });
    await waitFor(() => p.stats().lanes.some((l) => l.name === `write:${slow}` && l.queued === 1), 'the second write to queue');
    // …while another database writes, and the slow database is still readable.
    await c.db(fast).collection('docs').insertOne({ _id: 'f' as never });
    expect(await c.db(fast).collection('docs').countDocuments()).toBe(1);
    expect(await c.db(slow).collection('docs').countDocuments()).toBe(1);
    expect(slowDone).toBe(false);
    held.open();
    await Promise.all([slowInsert, second]);
    expect(order).toEqual([slow, fast, slow]);
    expect(await c.db(slow).collection('docs').countDocuments()).toBe(3);
  });

  it('a client that disconnects mid-request does not wedge its lane', async () => {
    const held = gate();
    const entered = new EventEmitter();
    const db = uniqueName('gone');
    const p = await proxy({
      beforeForward: async (op) => {
        if (op.db === db && op.command === 'insert') {
          entered.emit('entered');
          await held.wait;
        }
      },
    });
    // Half a message, then gone: nothing reaches a lane.
    const half = connect(p.port, '127.0.0.1');
    await once(half, 'connect');
    const msg = opMsg({ insert: 'docs', documents: [{ _id: 'half' }], $db: db });
    half.end(msg.subarray(0, msg.length - 10));
    await once(half, 'close');

    // A whole request whose client leaves while it waits in the lane: it is skipped.
    const raw = connect(p.port, '127.0.0.1');
    await once(raw, 'connect');
    const armed = once(entered, 'entered');
    raw.write(opMsg({ insert: 'docs', documents: [{ _id: 'left' }], $db: db }));
    await armed;
    const before = p.stats().clients;
    raw.destroy();
    await waitFor(() => p.stats().clients === before - 1, 'the proxy to see the client go');
    held.open();

    const c = await client(p.url);
    await c.db(db).collection('docs').insertOne({ _id: 'after' as never });
    expect(await c.db(db).collection('docs').find().toArray()).toEqual([{ _id: 'after' }]);
    await waitFor(() => p.stats().lanes.every((l) => !l.busy && l.queued === 0), 'idle lanes');
  });
});

/** A stand-in upstream that shows what the proxy sends and answers when the test says so. */
async function fakeUpstream(): Promise<{
  port: number;
  messages: EventEmitter;
  connections: Socket[];
  reply(to: Received, doc: Document): void;
  close(): Promise<void>;
}> {
  const messages = new EventEmitter();
  const connections: Socket[] = [];
  const server: Server = createServer((s) => {
    connections.push(s);
    const read = reader(s);
    void (async () => {
      for (;;) {
        const m = await read.next().catch(() => undefined);
        if (!m) return;
        messages.emit('message', { socket: s, msg: m, ...decode(m) } satisfies Received);
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    messages,
    connections,
    reply: (to, doc) => to.socket.write(opMsg(doc, { responseTo: to.requestId })),
    close: () => {
      for (const s of connections) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

interface Received {
  socket: Socket;
  msg: Buffer;
  requestId: number;
  responseTo: number;
  flags: number;
  doc: Document;
}

let lastRequestId = 1000;
function opMsg(doc: Document, opts: { flags?: number; requestId?: number; responseTo?: number; checksum?: boolean } = {}): Buffer {
  const body = BSON.serialize(doc);
  const len = 21 + body.length + (opts.checksum ? 4 : 0);
  const b = Buffer.alloc(len);
  b.writeInt32LE(len, 0);
  b.writeInt32LE(opts.requestId ?? ++lastRequestId, 4);
  b.writeInt32LE(opts.responseTo ?? 0, 8);
  b.writeInt32LE(OP_MSG, 12);
  b.writeUInt32LE(((opts.flags ?? 0) | (opts.checksum ? CHECKSUM_PRESENT : 0)) >>> 0, 16);
  b[20] = 0;
  b.set(body, 21);
  return b; // a checksum, when flagged, is left zero: the proxy strips what it rewrites
}

function decode(m: Buffer): Omit<Received, 'socket' | 'msg'> {
  return {
    requestId: m.readInt32LE(4),
    responseTo: m.readInt32LE(8),
    flags: m.readUInt32LE(16),
    doc: BSON.deserialize(m.subarray(21, 21 + m.readInt32LE(21))),
  };
}

/** Whole wire messages from a socket, one by one. */
function reader(s: Socket): { next(): Promise<Buffer> } {
  let buf = Buffer.alloc(0);
  let waiter: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  let ended = false;
  const pump = (): void => {
    if (!waiter) return;
    if (buf.length >= 4 && buf.length >= buf.readInt32LE(0)) {
      const m = buf.subarray(0, buf.readInt32LE(0));
      buf = buf.subarray(m.length);
      const w = waiter;
      waiter = undefined;
      w.resolve(m);
    } else if (ended) {
      const w = waiter;
      waiter = undefined;
      w.reject(new Error('connection closed'));
    }
  };
  s.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    pump();
  });
  s.on('close', () => {
    ended = true;
    pump();
  });
  s.on('error', () => undefined);
  return {
    next: () =>
      new Promise<Buffer>((resolve, reject) => {
        waiter = { resolve, reject };
        pump();
      }),
  };
}

describe('wire proxy protocol details (against a stand-in upstream)', () => {
  let up: Awaited<ReturnType<typeof fakeUpstream>>;
  let p: WireProxy;
  const logs: string[] = [];
  beforeAll(async () => {
    up = await fakeUpstream();
    p = await startWireProxy({ upstreamPort: up.port, readLanes: 1, log: (l) => logs.push(l) });
  });
  afterAll(async () => {
    await p.close();
    await up.close();
  });

  async function rawClient(): Promise<{ sock: Socket; next(): Promise<Buffer> }> {
    const sock = connect(p.port, '127.0.0.1');
    await once(sock, 'connect');
    return { sock, ...reader(sock) };
  }

  it('a reply in flight to a client that left is dropped, and the next request in the lane is answered', async () => {
    const a = await rawClient();
    const b = await rawClient();
    let arrived = once(up.messages, 'message');
    a.sock.write(opMsg({ insert: 'docs', documents: [{ _id: 1 }], $db: 'x' }));
    const [first] = (await arrived) as [Received];
    a.sock.destroy();
    await once(a.sock, 'close');
    const bRequest = opMsg({ insert: 'docs', documents: [{ _id: 2 }], $db: 'x' });
    b.sock.write(bRequest);
    await waitFor(() => p.stats().lanes.some((l) => l.name === 'write:x' && l.queued === 1), "b's request to queue");
    arrived = once(up.messages, 'message');
    up.reply(first, { ok: 1, n: 1 });
    const [second] = (await arrived) as [Received];
    expect(second.doc).toMatchObject({ insert: 'docs', documents: [{ _id: 2 }] });
    up.reply(second, { ok: 1, n: 1 });
    const answer = decode(await b.next());
    expect(answer.responseTo).toBe(bRequest.readInt32LE(4));
    expect(answer.doc).toEqual({ ok: 1, n: 1 });
    b.sock.destroy();
  });

  it('an unacknowledged (moreToCome) write still runs after its client has left', async () => {
    const x = await rawClient();
    const y = await rawClient();
    let arrived = once(up.messages, 'message');
    x.sock.write(opMsg({ insert: 'docs', documents: [{ _id: 'x' }], $db: 'w' }));
    const [first] = (await arrived) as [Received];
    y.sock.write(opMsg({ insert: 'docs', documents: [{ _id: 'y' }], $db: 'w' }, { flags: MORE_TO_COME }));
    await waitFor(() => p.stats().lanes.some((l) => l.name === 'write:w' && l.queued === 1), "y's write to queue");
    const before = p.stats().clients;
    y.sock.destroy();
    await waitFor(() => p.stats().clients === before - 1, 'the proxy to see y go');
    arrived = once(up.messages, 'message');
    up.reply(first, { ok: 1, n: 1 });
    const [second] = (await arrived) as [Received];
    expect(second.doc).toMatchObject({ insert: 'docs', documents: [{ _id: 'y' }] });
    up.reply(second, { ok: 1, n: 1 });
    expect(decode(await x.next()).doc).toEqual({ ok: 1, n: 1 });
    x.sock.destroy();
  });

  it('clears exhaustAllowed and moreToCome, strips the checksum it invalidates and the handshake metadata', async () => {
    const c = await rawClient();
    // moreToCome: forwarded as a normal request; the upstream's reply is not passed on.
    let arrived = once(up.messages, 'message');
    c.sock.write(opMsg({ insert: 'docs', documents: [{ _id: 3 }], $db: 'y' }, { flags: MORE_TO_COME }));
    const [unacked] = (await arrived) as [Received];
    expect(unacked.flags).toBe(0);
    up.reply(unacked, { ok: 1, n: 1 });

    const hello = { hello: 1, client: { driver: { name: 'test', version: '1' } }, $db: 'admin' };
    const sent = opMsg(hello, { flags: EXHAUST_ALLOWED, checksum: true });
    arrived = once(up.messages, 'message');
    c.sock.write(sent);
    const [got] = (await arrived) as [Received];
    expect(got.flags).toBe(0);
    expect(got.doc).toEqual({ hello: 1, $db: 'admin' });
    expect(got.msg.length).toBe(opMsg({ hello: 1, $db: 'admin' }).length);
    up.reply(got, { ok: 1, isWritablePrimary: true });
    // The first thing this client hears is the hello's answer: nothing for the moreToCome insert.
    const answer = decode(await c.next());
    expect(answer.responseTo).toBe(sent.readInt32LE(4));
    expect(answer.doc).toEqual({ ok: 1, isWritablePrimary: true });
    c.sock.destroy();
  });

  it('refuses OP_COMPRESSED and authentication by closing the client, saying why', async () => {
    const c = await rawClient();
    const compressed = Buffer.alloc(25);
    compressed.writeInt32LE(25, 0);
    compressed.writeInt32LE(2012, 12);
    c.sock.write(compressed);
    await once(c.sock, 'close');
    expect(logs.some((l) => l.includes('OP_COMPRESSED'))).toBe(true);

    const d = await rawClient();
    d.sock.write(opMsg({ saslStart: 1, mechanism: 'SCRAM-SHA-256', $db: 'admin' }));
    await once(d.sock, 'close');
    expect(logs.some((l) => l.includes('authentication is not supported'))).toBe(true);
  });

  it('an upstream that dies closes the clients it was serving; the lane dials again for the next', async () => {
    const a = await rawClient();
    let arrived = once(up.messages, 'message');
    a.sock.write(opMsg({ find: 'docs', $db: 'z' }));
    const [req] = (await arrived) as [Received];
    req.socket.destroy();
    await once(a.sock, 'close');

    const b = await rawClient();
    arrived = once(up.messages, 'message');
    b.sock.write(opMsg({ find: 'docs', $db: 'z' }));
    const [again] = (await arrived) as [Received];
    expect(again.socket).not.toBe(req.socket);
    up.reply(again, { ok: 1, cursor: { id: 0n, ns: 'z.docs', firstBatch: [] } });
    expect(decode(await b.next()).doc).toMatchObject({ ok: 1 });
    b.sock.destroy();
  });
});
