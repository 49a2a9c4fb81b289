import { spawn } from 'node:child_process';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { onDemand } from 'bson';

/**
 * A MongoDB wire-protocol proxy in front of the embedded FerretDB v1.24.2 (SQLite backend).
 * It exists because of two defects of that backend, measured here:
 *
 * 1. Updates are not atomic across connections. FerretDB reads the document outside any
 *    transaction, applies the update in Go, then writes it back; two connections interleave.
 *    With two client pools, 300 "successful" version-guarded updates gave 69 increments and
 *    200 concurrent `$inc` gave 11. One connection runs its commands one at a time, so every
 *    command that may write goes through ONE upstream connection per database (a FIFO "write
 *    lane"): read-modify-write commands on a database never interleave, other databases (other
 *    SQLite files) proceed in parallel. Read-only commands go to a small pool of read lanes
 *    (SQLite WAL readers see committed state), so any number of clients and processes can use
 *    a pool again.
 * 2. Its `_id` index is never used: FerretDB indexes `_ferretdb_sjson->"_id"` but looks up and
 *    updates by `_ferretdb_sjson->'$._id'`, a full table scan (findById 451 ms, updateOne({_id})
 *    869 ms at 100,000 documents; 1.6 ms and 2.3 ms with an index on the right expression).
 *    After the first write to a collection it has not seen, the proxy runs our
 *    `ferretdb-index` (infra/ferretdb-index) on that database's file to add that index.
 *
 * Requests are OP_MSG, or OP_QUERY for the driver's first (legacy) handshake, answered with
 * OP_REPLY. Messages are forwarded byte for byte, except: exhaustAllowed and moreToCome are cleared (one
 * reply per request keeps a lane's FIFO exact; FerretDB v1.24.2 answers every message anyway,
 * so a moreToCome request is sent as a normal one and its reply dropped), a checksum is
 * stripped when we change a message, and the `client` metadata of a handshake is removed
 * (FerretDB, like MongoDB, accepts it only in the first hello of a connection, and ours are
 * shared). Not supported, refused by closing the client: OP_COMPRESSED (we never enable
 * compressors), authentication (the embedded FerretDB runs without it, and auth state would
 * leak across shared connections), legacy opcodes.
 */

export interface WireProxyOptions {
  upstreamPort: number;
  host?: string;
  /** Read-only commands run on this many upstream connections, each one command at a time. */
  readLanes?: number;
  /** FerretDB's SQLite directory (`<dataDir>/<database>.sqlite`); with indexerBin, enables indexing. */
  dataDir?: string;
  /** The `ferretdb-index` binary (scripts/install-ferretdb.mjs builds it into .tools/bin). */
  indexerBin?: string;
  log?: (line: string) => void;
  /** Awaited before a lane sends a command upstream: lets tests hold a lane still. */
  beforeForward?: (op: { lane: string; db: string; command: string }) => Promise<void> | void;
}

export interface LaneStats {
  name: string;
  kind: 'read' | 'write';
  queued: number;
  busy: boolean;
  connected: boolean;
}

export interface WireProxyStats {
  /** Client connections open now. */
  clients: number;
  /** Commands sent through write lanes and read lanes since start. */
  writes: number;
  reads: number;
  lanes: LaneStats[];
  /** Cursors whose getMore/killCursors are pinned to the lane that opened them. */
  cursors: number;
  indexRuns: number;
  indexFailures: number;
}

export interface WireProxy {
  url: string;
  port: number;
  stats(): WireProxyStats;
  close(): Promise<void>;
}

const OP_QUERY = 2004;
const OP_COMPRESSED = 2012;
const OP_MSG = 2013;
const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;
const EXHAUST_ALLOWED = 1 << 16;
const HEADER_SIZE = 16;
/** MongoDB's maxMessageSizeBytes: a longer length means a broken stream. */
const MAX_MESSAGE = 48_000_000;
const BSON_STRING = 2;
const BSON_DOCUMENT = 3;
const BSON_ARRAY = 4;
const BSON_INT32 = 16;
const BSON_INT64 = 18;
/** A client that pipelines (moreToCome) stops being read past this many waiting requests. */
const CLIENT_BACKLOG = 64;
/** Cursors a client never closed stay pinned; past this many the oldest pins are forgotten. */
const MAX_PINNED_CURSORS = 10_000;

const READ_ONLY = new Set(
  [
    'find', 'count', 'distinct', 'aggregate', 'listCollections', 'listIndexes', 'listDatabases', 'dbStats', 'collStats',
    'dataSize', 'hello', 'isMaster', 'ping', 'buildInfo', 'getParameter', 'getCmdLineOpts', 'hostInfo', 'serverStatus',
    'connectionStatus', 'whatsmyuri', 'getLog', 'explain', 'listCommands', 'getMore', 'killCursors', 'endSessions',
    'getFreeMonitoringStatus',
  ].map((c) => c.toLowerCase()),
);
const REFUSED = new Set(['saslstart', 'saslcontinue', 'authenticate', 'logout']);
/** FerretDB's own rule for database names; also keeps `$db` from naming a path outside dataDir. */
const DB_NAME = /^[a-zA-Z0-9_-]{1,63}$/;

class ProtocolError extends Error {}

/** Splits a byte stream into whole wire messages (int32 length first). */
class Framer {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Buffer[] = [];
    while (this.size >= 4) {
      const len = this.peekLength();
      if (len < HEADER_SIZE || len > MAX_MESSAGE) throw new ProtocolError(`bad message length ${len}`);
      if (this.size < len) break;
      out.push(this.take(len));
    }
    return out;
  }

  reset(): void {
    this.chunks = [];
    this.size = 0;
  }

  private peekLength(): number {
    let first = this.chunks[0];
    if (!first || first.length < 4) {
      first = Buffer.concat(this.chunks, this.size);
      this.chunks = [first];
    }
    return first.readInt32LE(0);
  }

  private take(len: number): Buffer {
    const first = this.chunks[0];
    let msg: Buffer;
    if (first && first.length >= len) {
      msg = first.subarray(0, len);
      if (first.length === len) this.chunks.shift();
      else this.chunks[0] = first.subarray(len);
    } else {
      const all = Buffer.concat(this.chunks, this.size);
      msg = all.subarray(0, len);
      this.chunks = all.length > len ? [all.subarray(len)] : [];
    }
    this.size -= len;
    return msg;
  }
}

interface Field {
  type: number;
  name: string;
  /** Offset of the element's type byte, so it can be cut out. */
  start: number;
  offset: number;
  length: number;
}

/** The top-level fields of the BSON document at `start` in `buf`, values left unparsed. */
function fields(buf: Buffer, start: number): Field[] {
  const out: Field[] = [];
  for (const [type, nameOffset, nameLength, offset, length] of onDemand.parseToElements(buf, start)) {
    out.push({ type, name: buf.toString('utf8', nameOffset, nameOffset + nameLength), start: nameOffset - 1, offset, length });
  }
  return out;
}

function stringValue(buf: Buffer, f: Field | undefined): string | undefined {
  if (f?.type !== BSON_STRING) return undefined;
  return buf.toString('utf8', f.offset + 4, f.offset + f.length - 1);
}

function longValue(buf: Buffer, f: Field | undefined): bigint | undefined {
  if (f?.type === BSON_INT64) return buf.readBigInt64LE(f.offset);
  if (f?.type === BSON_INT32) return BigInt(buf.readInt32LE(f.offset));
  return undefined;
}

/** A request, parsed just enough to route it. */
interface Request {
  bytes: Buffer;
  requestId: number;
  command: string;
  db: string;
  /** The first field's string value: the collection for CRUD and index commands. */
  collection: string | undefined;
  readOnly: boolean;
  /** getMore's cursor, or killCursors' cursors. */
  cursorIds: bigint[];
  expectsReply: boolean;
}

function commandFacts(buf: Buffer, doc: Field[]): Pick<Request, 'command' | 'collection' | 'readOnly' | 'cursorIds'> {
  const first = doc[0];
  if (!first) throw new ProtocolError('empty command document');
  const command = first.name;
  const lower = command.toLowerCase();
  if (REFUSED.has(lower)) throw new ProtocolError(`"${command}": authentication is not supported through the wire proxy`);
  let readOnly = READ_ONLY.has(lower);
  if (lower === 'aggregate') readOnly = !pipelineWrites(buf, doc.find((f) => f.name === 'pipeline'));
  const cursorIds: bigint[] = [];
  if (lower === 'getmore') {
    const id = longValue(buf, first);
    if (id !== undefined) cursorIds.push(id);
  } else if (lower === 'killcursors') {
    const list = doc.find((f) => f.name === 'cursors');
    if (list?.type === BSON_ARRAY) {
      for (const f of fields(buf, list.offset)) {
        const id = longValue(buf, f);
        if (id !== undefined) cursorIds.push(id);
      }
    }
  }
  return { command, collection: stringValue(buf, first), readOnly, cursorIds };
}

/** `$out` and `$merge` make an aggregation a write. */
function pipelineWrites(buf: Buffer, pipeline: Field | undefined): boolean {
  if (pipeline?.type !== BSON_ARRAY) return false;
  return fields(buf, pipeline.offset).some((stage) => {
    if (stage.type !== BSON_DOCUMENT) return false;
    const op = fields(buf, stage.offset)[0]?.name;
    return op === '$out' || op === '$merge';
  });
}

/** Cuts one element out of the document at docStart (and out of the message). */
function withoutField(msg: Buffer, docStart: number, f: Field): Buffer {
  const end = f.offset + f.length;
  const cut = end - f.start;
  const out = Buffer.concat([msg.subarray(0, f.start), msg.subarray(end)]);
  out.writeInt32LE(out.length, 0);
  out.writeInt32LE(msg.readInt32LE(docStart) - cut, docStart);
  return out;
}

function isHandshake(lower: string): boolean {
  return lower === 'hello' || lower === 'ismaster';
}

function parseOpMsg(input: Buffer): Request {
  let msg = input;
  let flags = msg.readUInt32LE(HEADER_SIZE);
  const end = msg.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
  let body: number | undefined;
  for (let off = HEADER_SIZE + 4; off < end; ) {
    const kind = msg[off];
    if (kind !== 0 && kind !== 1) throw new ProtocolError(`unknown OP_MSG section kind ${kind}`);
    // Kind 0 is one BSON document, kind 1 a sized sequence; both start with an int32 size.
    const size = msg.readInt32LE(off + 1);
    if (size < 5 || off + 1 + size > end) throw new ProtocolError('OP_MSG section overruns the message');
    if (kind === 0) body = off + 1;
    off += 1 + size;
  }
  if (body === undefined) throw new ProtocolError('OP_MSG without a body section');
  const doc = fields(msg, body);
  const facts = commandFacts(msg, doc);
  const db = stringValue(msg, doc.find((f) => f.name === '$db')) ?? 'admin';
  const expectsReply = (flags & MORE_TO_COME) === 0;
  const metadata = isHandshake(facts.command.toLowerCase()) ? doc.find((f) => f.name === 'client') : undefined;
  if (flags & (EXHAUST_ALLOWED | MORE_TO_COME) || metadata) {
    if (flags & CHECKSUM_PRESENT) {
      // The checksum covers what we are about to change; FerretDB checks it when present.
      msg = msg.subarray(0, msg.length - 4);
      msg.writeInt32LE(msg.length, 0);
    }
    flags &= ~(EXHAUST_ALLOWED | MORE_TO_COME | CHECKSUM_PRESENT);
    msg.writeUInt32LE(flags >>> 0, HEADER_SIZE);
    if (metadata) msg = withoutField(msg, body, metadata);
  }
  return { bytes: msg, requestId: msg.readInt32LE(4), db, expectsReply, ...facts };
}

/** OP_QUERY: the driver's first handshake (legacy hello on admin.$cmd). */
function parseOpQuery(msg: Buffer): Request {
  const nsStart = HEADER_SIZE + 4;
  const nsEnd = msg.indexOf(0, nsStart);
  if (nsEnd < 0) throw new ProtocolError('OP_QUERY without a namespace');
  const ns = msg.toString('utf8', nsStart, nsEnd);
  const dot = ns.indexOf('.');
  const db = dot < 0 ? ns : ns.slice(0, dot);
  const docStart = nsEnd + 1 + 8;
  const doc = fields(msg, docStart);
  const wrapped = doc[0]?.name === '$query' && doc[0].type === BSON_DOCUMENT ? doc[0] : undefined;
  const facts = commandFacts(msg, wrapped ? fields(msg, wrapped.offset) : doc);
  // A query on a collection (not `$cmd`) is a legacy find: FerretDB refuses it, read lane.
  if (ns.slice(dot + 1) !== '$cmd') facts.readOnly = true;
  const metadata = !wrapped && isHandshake(facts.command.toLowerCase()) ? doc.find((f) => f.name === 'client') : undefined;
  const bytes = metadata ? withoutField(msg, docStart, metadata) : msg;
  return { bytes, requestId: msg.readInt32LE(4), db, expectsReply: true, ...facts };
}

function parseRequest(msg: Buffer): Request {
  const opCode = msg.readInt32LE(12);
  if (opCode === OP_MSG) return parseOpMsg(msg);
  if (opCode === OP_QUERY) return parseOpQuery(msg);
  if (opCode === OP_COMPRESSED) {
    throw new ProtocolError('OP_COMPRESSED: compression is not supported through the wire proxy (connect without `compressors`)');
  }
  throw new ProtocolError(`unsupported opcode ${opCode}`);
}

/** `cursor.id` of an OP_MSG reply, when it has one. */
function replyCursorId(msg: Buffer): bigint | undefined {
  if (msg.readInt32LE(12) !== OP_MSG) return undefined;
  let off = HEADER_SIZE + 4;
  while (msg[off] === 1) {
    const size = msg.readInt32LE(off + 1);
    if (size < 5) return undefined;
    off += 1 + size;
  }
  if (msg[off] !== 0) return undefined;
  const cursor = fields(msg, off + 1).find((f) => f.name === 'cursor');
  if (cursor?.type !== BSON_DOCUMENT) return undefined;
  return longValue(msg, fields(msg, cursor.offset).find((f) => f.name === 'id'));
}

/** One request on its way: from a client, through a lane, back to that client. */
interface Job {
  client: Client;
  req: Request;
}

type Log = (line: string) => void;

/**
 * One upstream connection and the FIFO of requests waiting for it; exactly one request is
 * upstream at a time, so replies match requests by order (checked against responseTo).
 */
class Lane {
  private readonly queue: Job[] = [];
  /** Sent upstream, waiting for its reply. */
  private current: Job | undefined;
  /** A job is between leaving the queue and getting its reply (hook, dial, upstream). */
  private busy = false;
  private upstream: Socket | undefined;
  private dialing: Promise<Socket> | undefined;
  private readonly framer = new Framer();
  private closed = false;

  constructor(
    readonly name: string,
    readonly kind: 'read' | 'write',
    private readonly proxy: ProxyCore,
  ) {}

  get load(): number {
    return this.queue.length + (this.busy ? 1 : 0);
  }

  stats(): LaneStats {
    return { name: this.name, kind: this.kind, queued: this.queue.length, busy: this.busy, connected: !!this.upstream };
  }

  enqueue(job: Job): void {
    if (this.closed) {
      job.client.destroy();
      return;
    }
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    while (!this.busy && !this.closed) {
      const job = this.queue.shift();
      if (!job) return;
      if (job.client.gone(job)) {
        job.client.finished(job);
        continue;
      }
      this.busy = true;
      void this.send(job);
    }
  }

  private async send(job: Job): Promise<void> {
    try {
      await this.proxy.opts.beforeForward?.({ lane: this.name, db: job.req.db, command: job.req.command });
      if (this.closed) throw new Error('proxy closed');
      if (job.client.gone(job)) {
        this.busy = false;
        job.client.finished(job);
        this.pump();
        return;
      }
      const sock = await this.connect();
      this.current = job;
      sock.write(job.req.bytes);
    } catch (err) {
      if (this.current === job) return; // the upstream's close handler already failed it
      if (!this.closed) this.proxy.log(`${this.name}: ${(err as Error).message}`);
      this.busy = false;
      // The upstream cannot be reached: this request and those behind it fail alike.
      this.failAll([job]);
    }
  }

  private connect(): Promise<Socket> {
    if (this.upstream) return Promise.resolve(this.upstream);
    this.dialing ??= new Promise<Socket>((resolve, reject) => {
      const sock = createConnection({ host: this.proxy.host, port: this.proxy.opts.upstreamPort });
      sock.setNoDelay(true);
      const fail = (err: Error): void => {
        this.dialing = undefined;
        reject(new Error(`cannot reach upstream: ${err.message}`));
      };
      sock.once('error', fail);
      sock.once('connect', () => {
        sock.off('error', fail);
        this.dialing = undefined;
        if (this.closed) {
          sock.destroy();
          reject(new Error('proxy closed'));
          return;
        }
        this.upstream = sock;
        this.framer.reset();
        sock.on('data', (chunk: Buffer) => this.onData(sock, chunk));
        sock.on('error', (err) => this.proxy.log(`${this.name}: upstream error: ${err.message}`));
        sock.on('close', () => this.onUpstreamClose(sock));
        resolve(sock);
      });
    });
    return this.dialing;
  }

  private onData(sock: Socket, chunk: Buffer): void {
    let msgs: Buffer[];
    try {
      msgs = this.framer.push(chunk);
    } catch (err) {
      this.proxy.log(`${this.name}: upstream sent garbage (${(err as Error).message})`);
      sock.destroy();
      return;
    }
    for (const msg of msgs) {
      const job = this.current;
      if (!job || msg.readInt32LE(8) !== job.req.requestId || (msg.readInt32LE(12) === OP_MSG && msg.readUInt32LE(HEADER_SIZE) & MORE_TO_COME)) {
        this.proxy.log(`${this.name}: reply out of turn, dropping the upstream connection`);
        sock.destroy();
        return;
      }
      this.current = undefined;
      this.busy = false;
      this.proxy.replied(this, job.req, msg);
      if (job.req.expectsReply && job.client.alive) job.client.socket.write(msg);
      job.client.finished(job);
    }
    this.pump();
  }

  private onUpstreamClose(sock: Socket): void {
    if (this.upstream !== sock) return;
    this.upstream = undefined;
    this.framer.reset();
    this.proxy.forgetCursors(this);
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    this.busy = false;
    if (!this.closed) this.proxy.log(`${this.name}: upstream connection lost; closing its clients (they reconnect)`);
    this.failAll([current]);
  }

  /** Closes the clients of these jobs and of every queued one: the driver reconnects and retries. */
  private failAll(jobs: Job[]): void {
    const victims = [...jobs, ...this.queue.splice(0)];
    for (const j of victims) j.client.destroy();
    this.pump();
  }

  close(): void {
    this.closed = true;
    this.upstream?.destroy();
    for (const j of this.queue.splice(0)) j.client.destroy();
  }
}

/** A client connection: its requests go out one at a time, in the order it sent them. */
class Client {
  alive = true;
  private readonly framer = new Framer();
  private readonly waiting: Request[] = [];
  private active: Job | undefined;

  constructor(
    readonly socket: Socket,
    private readonly proxy: ProxyCore,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.destroy());
  }

  private onData(chunk: Buffer): void {
    try {
      for (const msg of this.framer.push(chunk)) this.waiting.push(parseRequest(msg));
    } catch (err) {
      this.proxy.log(`closing a client: ${(err as Error).message}`);
      this.destroy();
      return;
    }
    if (this.waiting.length > CLIENT_BACKLOG) this.socket.pause();
    this.next();
  }

  private next(): void {
    if (this.active) return;
    const req = this.waiting.shift();
    if (!req) {
      if (this.alive && this.socket.isPaused()) this.socket.resume();
      return;
    }
    this.active = { client: this, req };
    this.proxy.dispatch(this.active);
  }

  finished(job: Job): void {
    if (this.active !== job) return;
    this.active = undefined;
    this.next();
  }

  /**
   * A request whose client left before it was sent upstream is skipped: nobody would read the
   * reply, and a driver that gave up on it may retry it elsewhere. Unacknowledged writes
   * (moreToCome) still run, as the server would have run them.
   */
  gone(job: Job): boolean {
    return !this.alive && job.req.expectsReply;
  }

  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    const unacknowledged = this.waiting.filter((r) => !r.expectsReply);
    this.waiting.splice(0, this.waiting.length, ...unacknowledged);
    this.socket.destroy();
    this.proxy.clients.delete(this);
  }
}

/**
 * Runs ferretdb-index on a database's file after writes to collections not seen before:
 * debounced, one run per file at a time. A collection counts as seen only once a run reports
 * it indexed: a write that failed, or an update that matched nothing, creates no table, so the
 * next write to it asks again (at most once a second while the table stays missing).
 */
class IdIndexer {
  runs = 0;
  failures = 0;
  private readonly seen = new Set<string>();
  /** When a run last looked for a collection and did not find it. */
  private readonly notFoundAt = new Map<string, number>();
  private readonly files = new Map<string, FileRuns>();
  private closed = false;

  constructor(
    private readonly dataDir: string,
    private readonly bin: string,
    private readonly log: Log,
  ) {}

  /** After the reply to a write-lane command. */
  noteWrite(db: string, collection: string | undefined, command: string): void {
    if (this.closed || !DB_NAME.test(db)) return;
    const lower = command.toLowerCase();
    const prefix = `${db}\0`;
    if (lower === 'dropdatabase') {
      for (const k of this.seen) if (k.startsWith(prefix)) this.seen.delete(k);
      return;
    }
    if (lower === 'renamecollection') {
      // Sent to admin with "db.coll" names; rare enough to simply forget everything.
      this.seen.clear();
      return;
    }
    if (collection === undefined) return;
    const key = prefix + collection;
    if (lower === 'drop') {
      // The index went with the table; a new collection of that name needs it again.
      this.seen.delete(key);
      return;
    }
    const always = lower === 'create' || lower === 'createindexes';
    if (!always && this.seen.has(key)) return;
    const missed = always ? undefined : this.notFoundAt.get(key);
    this.schedule(db, key, missed === undefined ? 0 : missed + 1000);
  }

  private schedule(db: string, key: string, notBefore: number): void {
    let f = this.files.get(db);
    if (!f) {
      f = { keys: new Set(), retryAt: 0 };
      this.files.set(db, f);
    }
    f.keys.add(key);
    // The short delay gathers the burst of writes that follows a first one into one run.
    const at = Math.max(notBefore, f.retryAt, Date.now() + 20);
    if (f.running) {
      f.nextAt = Math.min(f.nextAt ?? at, at);
      return;
    }
    if (f.timer && f.timerAt !== undefined && f.timerAt <= at) return;
    if (f.timer) clearTimeout(f.timer);
    const state = f;
    state.timerAt = at;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      const keys = state.keys;
      state.keys = new Set();
      state.running = this.run(db, keys, state).finally(() => {
        state.running = undefined;
        const next = state.nextAt;
        state.nextAt = undefined;
        if (next !== undefined && !this.closed) {
          const again = [...state.keys];
          state.keys = new Set();
          for (const k of again) this.schedule(db, k, next);
        }
      });
    }, at - Date.now());
    state.timer.unref();
  }

  private async run(db: string, keys: Set<string>, f: FileRuns): Promise<void> {
    this.runs++;
    const started = Date.now();
    const prefix = `${db}\0`;
    try {
      const out = await execIndexer(this.bin, ['--json', this.dataDir, db]);
      for (const line of out.split('\n')) {
        if (!line.trim()) continue;
        const r = JSON.parse(line) as { collection?: unknown };
        if (typeof r.collection !== 'string') continue;
        this.seen.add(prefix + r.collection);
        this.notFoundAt.delete(prefix + r.collection);
      }
      for (const k of keys) if (!this.seen.has(k)) this.notFoundAt.set(k, started);
    } catch (err) {
      this.failures++;
      f.retryAt = Date.now() + 5000;
      this.log(`ferretdb-index failed for database "${db}" (retried after later writes): ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const running: Promise<void>[] = [];
    for (const f of this.files.values()) {
      if (f.timer) clearTimeout(f.timer);
      if (f.running) running.push(f.running);
    }
    await Promise.all(running);
  }
}

interface FileRuns {
  /** Collections written since the last run started. */
  keys: Set<string>;
  timer?: NodeJS.Timeout | undefined;
  timerAt?: number | undefined;
  running?: Promise<void> | undefined;
  /** A run was asked for while one was running: when to start it. */
  nextAt?: number | undefined;
  /** After a failure, no run before this. */
  retryAt: number;
}

/** Runs the indexer, resolving with its stdout; rejects with its stderr on a non-zero exit. */
function execIndexer(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // The timeout bounds a run stuck behind a lock; SQLite rolls the transaction back.
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString('utf8')).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`exit ${code ?? signal}: ${err.trim() || '(no output)'}`));
    });
  });
}

class ProxyCore {
  readonly clients = new Set<Client>();
  readonly host: string;
  private readonly readLanes: Lane[];
  /**
   * The driver's monitor sends hello/ping every few seconds and gives up on the server after
   * connectTimeoutMS: queued behind a long scan on a read lane, that heartbeat would make a
   * busy but healthy server look gone (a 100,000-row import's counts did). Heartbeats have a
   * lane of their own.
   */
  private readonly heartbeatLane: Lane;
  private readonly writeLanes = new Map<string, Lane>();
  private readonly cursors = new Map<bigint, Lane>();
  private readonly indexer: IdIndexer | undefined;
  private nextRead = 0;
  writes = 0;
  reads = 0;
  readonly log: Log;

  constructor(readonly opts: WireProxyOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.log = opts.log ?? ((line) => process.stderr.write(`[wire-proxy] ${line}\n`));
    const n = Math.max(1, opts.readLanes ?? 4);
    this.readLanes = Array.from({ length: n }, (_, i) => new Lane(`read:${i}`, 'read', this));
    this.heartbeatLane = new Lane('heartbeat', 'read', this);
    if (opts.dataDir && opts.indexerBin) this.indexer = new IdIndexer(opts.dataDir, opts.indexerBin, this.log);
  }

  dispatch(job: Job): void {
    const { req } = job;
    const pinned = req.cursorIds.map((id) => this.cursors.get(id)).find((l) => l !== undefined);
    const lower = req.command.toLowerCase();
    const heartbeat = isHandshake(lower) || lower === 'ping';
    const lane = pinned ?? (heartbeat ? this.heartbeatLane : req.readOnly ? this.readLane() : this.writeLane(req.db));
    if (lane.kind === 'write') this.writes++;
    else this.reads++;
    lane.enqueue(job);
  }

  /** The least loaded read lane, starting the search round-robin so all get used. */
  private readLane(): Lane {
    const n = this.readLanes.length;
    const start = this.nextRead;
    this.nextRead = (start + 1) % n;
    let best = this.readLanes[start] as Lane;
    for (let i = 1; i < n && best.load > 0; i++) {
      const lane = this.readLanes[(start + i) % n] as Lane;
      if (lane.load < best.load) best = lane;
    }
    return best;
  }

  private writeLane(db: string): Lane {
    let lane = this.writeLanes.get(db);
    if (!lane) {
      lane = new Lane(`write:${db}`, 'write', this);
      this.writeLanes.set(db, lane);
    }
    return lane;
  }

  /** Called for every reply: cursor pins, and indexing after writes. */
  replied(lane: Lane, req: Request, msg: Buffer): void {
    let id: bigint | undefined;
    try {
      id = replyCursorId(msg);
    } catch {
      id = undefined; // not ours to judge: the client gets the reply as it is
    }
    const lower = req.command.toLowerCase();
    if (lower === 'killcursors') {
      for (const c of req.cursorIds) this.cursors.delete(c);
    } else if (lower === 'getmore') {
      if (id === 0n) for (const c of req.cursorIds) this.cursors.delete(c);
    } else if (id !== undefined && id !== 0n) {
      this.cursors.set(id, lane);
      if (this.cursors.size > MAX_PINNED_CURSORS) {
        const oldest = this.cursors.keys().next().value;
        if (oldest !== undefined) this.cursors.delete(oldest);
      }
    }
    if (lane.kind === 'write') this.indexer?.noteWrite(req.db, req.collection, req.command);
  }

  forgetCursors(lane: Lane): void {
    for (const [id, l] of this.cursors) if (l === lane) this.cursors.delete(id);
  }

  stats(): WireProxyStats {
    return {
      clients: this.clients.size,
      writes: this.writes,
      reads: this.reads,
      lanes: [...this.readLanes, this.heartbeatLane, ...this.writeLanes.values()].map((l) => l.stats()),
      cursors: this.cursors.size,
      indexRuns: this.indexer?.runs ?? 0,
      indexFailures: this.indexer?.failures ?? 0,
    };
  }

  async close(): Promise<void> {
    for (const c of [...this.clients]) c.destroy();
    for (const lane of [...this.readLanes, ...this.writeLanes.values()]) lane.close();
    await this.indexer?.close();
  }
}

export async function startWireProxy(opts: WireProxyOptions): Promise<WireProxy> {
  const proxy = new ProxyCore(opts);
  const server = createServer((sock) => {
    proxy.clients.add(new Client(sock, proxy));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, proxy.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `mongodb://${proxy.host}:${port}/`,
    port,
    stats: () => proxy.stats(),
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await proxy.close();
        await stopped;
      })();
      return closing;
    },
  };
}
