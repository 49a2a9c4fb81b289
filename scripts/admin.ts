/**
 * The admin CLI: `npm run admin -- <command>`. It reads the same environment as `npm start`.
 *
 * Where it does the work:
 *  1. When the server started with that environment answers on HOST:PORT, through its admin
 *     API (ADMIN_TOKEN, or the token kept in DATA_DIR/admin-token). This is the normal case
 *     with embedded servers: FerretDB's SQLite files (and redis-server's append-only file) in
 *     DATA_DIR belong to the one process that started them; a second FerretDB on the same
 *     folder neither sees the first one's writes nor can write itself.
 *  2. Otherwise directly: it starts the lean runtime (MONGODB_URL, or the embedded FerretDB on
 *     DATA_DIR, and the core on it: no Redis, no wallet), does the work through core, and stops. If the embedded
 *     servers of DATA_DIR are already running in a process without HTTP (role bots or worker),
 *     it refuses instead of opening the same files twice.
 */
import { createReadStream, readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { resolve } from 'node:path';
import type { Enrolment } from '../core/admin/admin.service.js';
import { ConfigError, loadConfig, type Config } from '../core/config.js';
import { DomainError } from '../core/shared/errors.js';
import type { Store } from '../core/stores/store.repository.js';
import type { ImportView } from '../core/imports/import.service.js';
import { BROADCAST_CHANNELS, type Audience, type BroadcastChannel, type BroadcastInput, type BroadcastView, type Recipients } from '../core/broadcasts/broadcast.types.js';
import { createLogger } from '../infra/logger.js';
import { startCoreRuntime } from '../infra/runtime.js';
import { createShutdown } from '../infra/shutdown.js';

const USAGE = `Usage: npm run admin -- <command>

  store:create "<name>" [CARD_PREFIX]   create a store (till) and print its API key; the key is shown only then
  store:list                           list the stores (keys are never shown again, only their first characters)
  store:rotate-key <storeId> [MINUTES] a new API key for the store; the old one stops now, or after MINUTES
                                       (up to a week) so the tills can be switched over
  store:revoke-keys <storeId>          every key of the store stops now (a leaked key); rotate to make a new one
  member:create <phone> "<name>"       enrol a member whose consent you took in person; prints the card
  import <file.csv|file.xlsx> [--dry-run]
                                       import a member base (see README "Import, segments and reports"),
                                       with a progress bar; --dry-run checks every row and changes nothing
  member:erase <phone>                 "delete my data" for a member who asked in person (as the chat's own)
  member:erase card <card number>      the same, found by the card
  broadcast:send "<text>" [audience] [--channels telegram,vk,wallet] [--button "<label>" <url>]
                 [--at <ISO time>] [--urgent] [--holdout <percent>] [--no-wait]
                                       a broadcast, with a live progress line until it is done;
                                       audience: --all (default), --level <id>, --cards <n1,n2…>,
                                       --phones <p1,p2…>, --segment <id>; --urgent ignores quiet hours
  user:create <email> <role> [--store <storeId>]
                                       a web panel user (role: owner, marketer, support, cashier; a cashier
                                       needs --store); the password is asked for, or read from PANEL_USER_PASSWORD

It uses the running server's admin API when one answers on HOST:PORT, else the database directly.`;

/** A refusal to show the operator: one line, exit code 1. */
class CliError extends Error {}

interface AdminOps {
  mode: string;
  createStore(name: string, cardPrefix?: string): Promise<{ id: string; name: string; key: string }>;
  listStores(): Promise<Store[]>;
  rotateKey(storeId: string, graceMinutes: number): Promise<{ key: string; previousValidUntil: string | null }>;
  revokeKeys(storeId: string): Promise<{ revoked: number }>;
  enrol(input: { phone: string; name: string; consent: boolean }): Promise<Enrolment>;
  importFile(file: string, dryRun: boolean, onProgress: (v: ImportView) => void): Promise<ImportView>;
  erase(by: { phone?: string; cardNumber?: string }): Promise<{ memberId: string; cardNumber: string | null }>;
  createBroadcast(input: BroadcastInput): Promise<{ id: string; status: string; recipients: Recipients }>;
  broadcast(id: string): Promise<BroadcastView>;
  createUser(input: { email: string; password: string; role: string; storeId?: string | undefined }): Promise<{ id: string; email: string; role: string }>;
  close(): Promise<void>;
}

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const contentTypeOf = (file: string): string => (/\.xlsx$/i.test(file) ? XLSX_TYPE : 'text/csv');

/** `[██████░░░░]  60% loading members 5 400/9 000` on one terminal line. */
function progressBar(v: ImportView): string {
  const width = 30;
  const full = Math.round((v.progress.percent / 100) * width);
  const phase = { upload: 'uploading', read: 'checking rows', apply: 'loading members', finished: 'done' }[v.progress.phase];
  const counts = v.progress.phase === 'apply' && v.progress.total ? ` ${v.progress.done}/${v.progress.total}` : '';
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}] ${String(v.progress.percent).padStart(3)}% ${phase}${counts}`;
}

function baseUrl(config: Config): string {
  const host = ['0.0.0.0', '::', ''].includes(config.http.host) ? '127.0.0.1' : config.http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`;
}

async function serverAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1500) });
    return res.ok && ((await res.json()) as { status?: unknown }).status === 'ok';
  } catch {
    return false;
  }
}

function adminTokenFor(config: Config): string {
  if (config.adminToken) return config.adminToken;
  const file = resolve(config.dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new CliError(`a server answers but there is no admin token: set ADMIN_TOKEN (or run from the folder whose ${file} it uses)`);
}

function httpOps(url: string, token: string): AdminOps {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${url}/api/v1/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const json = (await res.json()) as T & { error?: { code: string; message: string } };
    if (!res.ok) throw new CliError(json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${res.status}`);
    return json;
  }
  return {
    mode: `the admin API at ${url}`,
    createStore: (name, cardPrefix) => call('POST', '/stores', { name, ...(cardPrefix ? { cardPrefix } : {}) }),
    listStores: async () => (await call<{ items: Store[] }>('GET', '/stores')).items,
    rotateKey: (storeId, graceMinutes) => call('POST', `/stores/${encodeURIComponent(storeId)}/keys`, { graceMinutes }),
    revokeKeys: (storeId) => call('DELETE', `/stores/${encodeURIComponent(storeId)}/keys`),
    enrol: (input) => call('POST', '/members', input),
    async importFile(file, dryRun, onProgress) {
      const res = await fetch(`${url}/api/v1/admin/imports?dryRun=${dryRun}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': contentTypeOf(file) },
        // Streamed from the disk: a big base is never read into memory.
        body: Readable.toWeb(createReadStream(file)) as ReadableStream,
        duplex: 'half',
      });
      const json = (await res.json()) as { id?: string; error?: { code: string; message: string } };
      if (!res.ok || !json.id) throw new CliError(json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${res.status}`);
      for (;;) {
        const v = await call<ImportView>('GET', `/imports/${json.id}`);
        onProgress(v);
        if (v.status === 'done' || v.status === 'failed') return v;
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    erase: (by) => call('POST', '/members/erase', by),
    createBroadcast: (input) => call('POST', '/broadcasts', input),
    broadcast: (id) => call('GET', `/broadcasts/${encodeURIComponent(id)}`),
    createUser: (input) => call('POST', '/users', input),
    close: async () => undefined,
  };
}

/** Pids (other than ours) whose command line names one of `needles`; empty where /proc is absent. */
function pidsMentioning(needles: string[]): number[] {
  if (!existsSync('/proc')) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (needles.some((n) => cmd.includes(n))) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

async function directOps(config: Config, url: string): Promise<AdminOps> {
  if (config.mongo.kind === 'embedded' || config.redis.kind === 'embedded') {
    const busy = pidsMentioning([`--state-dir=${resolve(config.dataDir, 'mongo')}`, `--dir ${resolve(config.dataDir, 'redis')} `]);
    if (busy.length > 0) {
      throw new CliError(
        `the embedded servers of ${resolve(config.dataDir)} are in use (pid ${busy.join(', ')}) but no HTTP API answers at ${url}. ` +
          'Run this with the HOST/PORT of the running api/all process, stop it first, or set MONGODB_URL and REDIS_URL.',
      );
    }
  }
  const logger = createLogger('warn');
  const shutdown = createShutdown(logger, config.shutdownTimeoutMs);
  shutdown.installSignalHandlers();
  try {
    // The lean runtime: MongoDB and the core; no Redis, no signing threads, no dev certificates.
    const rt = await startCoreRuntime(config, logger, shutdown);
    const { admin } = rt.core;
    return {
      mode: rt.endpoints.mongo.source === 'external' ? 'MONGODB_URL directly' : `the embedded database in ${resolve(config.dataDir)}`,
      createStore: (name, cardPrefix) => admin.createStore(name, cardPrefix),
      listStores: () => admin.listStores(),
      rotateKey: async (storeId, graceMinutes) => {
        const r = await admin.rotateStoreKey(storeId, graceMinutes);
        return { key: r.key, previousValidUntil: r.previousValidUntil?.toISOString() ?? null };
      },
      revokeKeys: (storeId) => admin.revokeStoreKeys(storeId),
      // The operator enrols in person, having taken the consent there.
      enrol: (input) => admin.enrol(input, 'admin'),
      async importFile(file, dryRun, onProgress) {
        const id = await rt.core.insight.imports.create({ body: createReadStream(file), contentType: contentTypeOf(file), dryRun, maxBytes: config.insight.importMaxBytes });
        return rt.core.insight.imports.run(id, onProgress);
      },
      erase: (by) => admin.eraseMember(by),
      // Without Redis here: a running worker's sweep picks the broadcast up within seconds.
      createBroadcast: (input) => rt.core.broadcasts.create(input),
      broadcast: (id) => rt.core.broadcasts.get(id),
      async createUser(input) {
        const user = await rt.core.users.create(input);
        await rt.core.audit.record({ actor: 'admin-cli', action: 'user.create', target: user.email, after: { role: user.role, storeId: user.storeId } });
        return user;
      },
      close: async () => {
        await shutdown.run('admin command done');
      },
    };
  } catch (err) {
    await shutdown.run('admin command failed', 1);
    throw err;
  }
}

type Command =
  | { kind: 'store:create'; name: string; cardPrefix: string | undefined }
  | { kind: 'store:list' }
  | { kind: 'import'; file: string; dryRun: boolean }
  | { kind: 'store:rotate-key'; storeId: string; graceMinutes: number }
  | { kind: 'store:revoke-keys'; storeId: string }
  | { kind: 'member:create'; phone: string; name: string }
  | { kind: 'member:erase'; by: { phone: string } | { cardNumber: string } }
  | { kind: 'broadcast:send'; input: BroadcastInput; wait: boolean }
  | { kind: 'user:create'; email: string; role: string; storeId: string | undefined };

/** `broadcast:send "<text>" [options]` as a broadcast input, or null when the options do not fit. */
function parseBroadcast(rest: string[]): { input: BroadcastInput; wait: boolean } | null {
  const [text, ...opts] = rest;
  if (!text) return null;
  let audience: Audience = { kind: 'all' };
  const input: BroadcastInput = { text, audience };
  let wait = true;
  const list = (v: string | undefined): string[] | null => (v ? v.split(',').map((x) => x.trim()).filter((x) => x !== '') : null);
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i];
    const v = opts[i + 1];
    if (o === '--all') audience = { kind: 'all' };
    else if (o === '--no-wait') wait = false;
    else if (o === '--urgent') input.ignoreQuietHours = true;
    else if (v === undefined) return null;
    else {
      i++;
      if (o === '--level') audience = { kind: 'level', levelId: v };
      else if (o === '--segment') audience = { kind: 'segment', segmentId: v };
      else if (o === '--cards' && list(v)) audience = { kind: 'cards', numbers: list(v) ?? [] };
      else if (o === '--phones' && list(v)) audience = { kind: 'phones', phones: list(v) ?? [] };
      else if (o === '--at') input.scheduledAt = v;
      else if (o === '--holdout' && /^\d+(\.\d+)?$/.test(v)) input.holdoutPercent = Number(v);
      else if (o === '--channels' && list(v)?.every((c) => (BROADCAST_CHANNELS as readonly string[]).includes(c))) input.channels = (list(v) ?? []) as BroadcastChannel[];
      else if (o === '--button' && opts[i + 1]) {
        input.button = { text: v, url: opts[i + 1] ?? '' };
        i++;
      } else return null;
    }
  }
  input.audience = audience;
  return { input, wait };
}

/** `telegram 120/300 · vk 80/90 · wallet 40/40 · sending` on one terminal line. */
function broadcastLine(b: BroadcastView): string {
  const parts = b.channels.map((c) => {
    const n = b.counts[c];
    const done = n.sent + n.failed + n.blocked + n.skipped;
    const issues = [n.failed ? `${n.failed} failed` : '', n.blocked ? `${n.blocked} blocked` : '', n.skipped ? `${n.skipped} skipped` : ''].filter(Boolean).join(', ');
    return `${c} ${done}/${done + n.queued}${issues ? ` (${issues})` : ''}`;
  });
  return `${parts.join(' · ')} · ${b.status}`;
}

/** The command line as a command, or null when it does not fit the usage (checked before connecting). */
function parse(args: string[]): Command | null {
  const [command, ...rest] = args;
  if (command === 'store:create' && rest[0] && rest.length <= 2) return { kind: command, name: rest[0], cardPrefix: rest[1]?.toUpperCase() };
  if (command === 'store:list' && rest.length === 0) return { kind: command };
  if (command === 'store:rotate-key' && rest[0] && rest.length <= 2 && /^\d{0,6}$/.test(rest[1] ?? '')) return { kind: command, storeId: rest[0], graceMinutes: Number(rest[1] ?? 0) };
  if (command === 'store:revoke-keys' && rest[0] && rest.length === 1) return { kind: command, storeId: rest[0] };
  if (command === 'member:create' && rest[0] && rest.length >= 2) return { kind: command, phone: rest[0], name: rest.slice(1).join(' ') };
  if (command === 'import') {
    const files = rest.filter((a) => a !== '--dry-run');
    if (files.length === 1 && files[0] && rest.length - files.length <= 1) return { kind: 'import', file: files[0], dryRun: rest.includes('--dry-run') };
  }
  if (command === 'user:create' && rest[0] && rest[1]) {
    const [email, role, flag, storeId, ...extra] = rest;
    if (extra.length === 0 && (flag === undefined || (flag === '--store' && storeId))) return { kind: command, email, role, storeId };
  }
  if (command === 'member:erase' && rest[0] === 'card' && rest[1] && rest.length === 2) return { kind: command, by: { cardNumber: rest[1] } };
  if (command === 'member:erase' && rest[0] && rest[0] !== 'card') return { kind: command, by: { phone: rest.join(' ') } };
  if (command === 'broadcast:send') {
    const b = parseBroadcast(rest);
    return b ? { kind: command, ...b } : null;
  }
  return null;
}

async function run(cmd: Command, ops: AdminOps): Promise<void> {
  switch (cmd.kind) {
    case 'store:create': {
      const s = await ops.createStore(cmd.name, cmd.cardPrefix);
      console.log(`Store "${s.name}" created (id ${s.id}).`);
      console.log('API key (shown only now; it is stored hashed). Put it in the till as "Authorization: Bearer <key>":');
      console.log(`  ${s.key}`);
      return;
    }
    case 'store:list': {
      const stores = await ops.listStores();
      if (stores.length === 0) {
        console.log('No stores yet: npm run admin -- store:create "<name>"');
        return;
      }
      const header = ['id', 'name', 'key', 'card prefix', 'active'];
      const rows = [header, ...stores.map((s) => [s.id, s.name, `${s.keyHint}…`, s.cardPrefix ?? '—', s.active ? 'yes' : 'no'])];
      const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
      for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
      return;
    }
    case 'import': {
      if (!existsSync(cmd.file) || !statSync(cmd.file).isFile()) throw new CliError(`no such file: ${cmd.file}`);
      const tty = process.stderr.isTTY;
      let last = '';
      const v = await ops.importFile(cmd.file, cmd.dryRun, (p) => {
        const line = progressBar(p);
        if (line === last) return;
        last = line;
        process.stderr.write(tty ? `\r${line}` : `${line}\n`);
      });
      if (tty) process.stderr.write('\n');
      if (v.status === 'failed') throw new CliError(`the file cannot be imported: ${v.failure?.reason ?? ''} ${v.failure?.message ?? ''}`);
      console.log(`${cmd.dryRun ? 'Dry run (nothing changed)' : 'Imported'}: ${v.rows} rows — ${v.created} created, ${v.updated} updated, ${v.unchanged} unchanged, ${v.merged} merged duplicates, ${v.failed} failed.`);
      for (const e of v.errors.slice(0, 20)) console.log(`  row ${e.row}, ${e.column}: ${e.reason}`);
      if (v.errorCount > 20) console.log(`  … ${v.errorCount - 20} more: GET /api/v1/admin/imports/${v.id}/errors.csv`);
      return;
    }
    case 'store:rotate-key': {
      const r = await ops.rotateKey(cmd.storeId, cmd.graceMinutes);
      console.log(`New API key for store ${cmd.storeId} (shown only now; it is stored hashed):`);
      console.log(`  ${r.key}`);
      console.log(r.previousValidUntil ? `The earlier keys keep working until ${r.previousValidUntil}.` : 'The earlier keys stopped working now.');
      return;
    }
    case 'store:revoke-keys': {
      const r = await ops.revokeKeys(cmd.storeId);
      console.log(`Revoked ${r.revoked} key(s) of store ${cmd.storeId}: its tills are refused until you run store:rotate-key.`);
      return;
    }
    case 'member:erase': {
      const r = await ops.erase(cmd.by);
      console.log(`Member ${r.memberId} erased${r.cardNumber ? `; card ${r.cardNumber} is blocked and keeps only its ledger` : ''}.`);
      return;
    }
    case 'broadcast:send': {
      const created = await ops.createBroadcast(cmd.input);
      const r = created.recipients;
      console.log(`Broadcast ${created.id} ${created.status}: ${r.total} members (telegram ${r.telegram}, vk ${r.vk}, wallet ${r.wallet}).`);
      if (!cmd.wait) return;
      const tty = process.stderr.isTTY;
      let last = '';
      for (;;) {
        const b = await ops.broadcast(created.id);
        const line = broadcastLine(b);
        if (line !== last) {
          last = line;
          process.stderr.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
        }
        if (b.status === 'done' || b.status === 'canceled') break;
        await new Promise((res) => setTimeout(res, 1000));
      }
      if (tty) process.stderr.write('\n');
      return;
    }
    case 'user:create': {
      const password = process.env.PANEL_USER_PASSWORD ?? (await askPassword(`Password for ${cmd.email}: `));
      const u = await ops.createUser({ email: cmd.email, password, role: cmd.role, storeId: cmd.storeId });
      console.log(`User ${u.email} created (id ${u.id}, role ${u.role}). Sign in at /admin.`);
      return;
    }
    case 'member:create': {
      const m = await ops.enrol({ phone: cmd.phone, name: cmd.name, consent: true });
      console.log(`${m.created ? 'Member created' : 'Already a member'} (id ${m.memberId}): card ${m.cardNumber}, balance ${m.balance} points.`);
      return;
    }
  }
}

/** Reads a password from the terminal without echoing it (or one line from a pipe). */
async function askPassword(prompt: string): Promise<string> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
  const muted = rl as unknown as { _writeToOutput?: (s: string) => void };
  process.stderr.write(prompt);
  if (process.stdin.isTTY) muted._writeToOutput = () => undefined;
  try {
    return await new Promise<string>((done) => rl.once('line', done));
  } finally {
    rl.close();
    if (process.stdin.isTTY) process.stderr.write('\n');
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (['-h', '--help', 'help'].includes(args[0] ?? '')) {
    console.log(USAGE);
    return 0;
  }
  const cmd = parse(args);
  if (!cmd) {
    console.error(USAGE);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  let ops: AdminOps | undefined;
  try {
    const url = baseUrl(config);
    ops = (await serverAnswers(url)) ? httpOps(url, adminTokenFor(config)) : await directOps(config, url);
    console.error(`(using ${ops.mode})`);
    await run(cmd, ops);
    return 0;
  } catch (err) {
    if (err instanceof DomainError) console.error(`Error: ${err.code}: ${err.message}`);
    else console.error(`Error: ${(err as Error).message}`);
    return 1;
  } finally {
    await ops?.close();
  }
}

void main().then((code) => process.exit(code));
