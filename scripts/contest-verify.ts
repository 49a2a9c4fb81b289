/**
 * `npm run contest:verify -- <contest id | record URL | record file>`: recomputes a drawn
 * contest's winners from its published record and says whether they agree.
 *
 *  - a contest id reads PUBLIC_URL/api/v1/contests/<id> (PUBLIC_URL defaults to
 *    http://HOST:PORT, as for `npm start`);
 *  - a URL is the record's (…/api/v1/contests/<id>), from any server;
 *  - a file holds the record as JSON, with the entry list inline as `entries` (a saved copy).
 * Over HTTP the entry list comes from <record URL>/entries unless the record carries it.
 *
 * Exit code 0 when everything agrees: sha256(seed) is the commitment, the entries hash to the
 * published digest, the winners follow from seed + entries. 1 otherwise, including when the
 * contest is not drawn yet or the record cannot be read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { verifiableEntries, verifiableRecord, verifyContest, type VerifiableRecord } from '../core/contests/contest.verify.js';

const USAGE = 'Usage: npm run contest:verify -- <contest id | record URL | record file>';

class VerifyError extends Error {}

async function fetchJson(url: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw new VerifyError(`cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new VerifyError(`${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  try {
    return await res.json();
  } catch {
    throw new VerifyError(`${url} did not answer JSON`);
  }
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new VerifyError(`${what} is not a contest record: ${problems}`);
}

function baseUrl(): string {
  const host = process.env.HOST ?? '127.0.0.1';
  const url = process.env.PUBLIC_URL ?? `http://${['0.0.0.0', '::', ''].includes(host) ? '127.0.0.1' : host}:${process.env.PORT ?? '3000'}`;
  return url.replace(/\/+$/, '');
}

async function load(arg: string): Promise<{ source: string; record: VerifiableRecord; entries: { id: string; masked: string }[] }> {
  if (!/^https?:\/\//i.test(arg) && existsSync(arg)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(arg, 'utf8'));
    } catch (err) {
      throw new VerifyError(`${arg}: not JSON (${(err as Error).message})`);
    }
    const record = parse(verifiableRecord, raw, arg);
    if (!record.entries) throw new VerifyError(`${arg}: a record file must carry the entry list as "entries"`);
    return { source: arg, record, entries: record.entries };
  }
  let url: string;
  if (/^https?:\/\//i.test(arg)) url = arg.replace(/[?#].*$/, '').replace(/\/+$/, '');
  else if (/^[\w-]{1,64}$/.test(arg)) url = `${baseUrl()}/api/v1/contests/${arg}`;
  else throw new VerifyError(`${arg}: neither a file, a URL nor a contest id\n${USAGE}`);
  const record = parse(verifiableRecord, await fetchJson(url), url);
  return { source: url, record, entries: record.entries ?? (await fetchEntries(`${url}/entries`)) };
}

/** Every page of the published entry list, following nextCursor. */
async function fetchEntries(url: string): Promise<{ id: string; masked: string }[]> {
  const entries: { id: string; masked: string }[] = [];
  let cursor: string | null | undefined = null;
  for (let page = 0; page < 100_000; page++) {
    const pageUrl: string = `${url}?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const p: { entries: { id: string; masked: string }[]; nextCursor?: string | null | undefined } = parse(verifiableEntries, await fetchJson(pageUrl), pageUrl);
    entries.push(...p.entries);
    cursor = p.nextCursor;
    if (!cursor) return entries;
  }
  throw new VerifyError(`${url}: the entry list does not end`);
}

async function main(): Promise<number> {
  const arg = process.argv.slice(2).find((a) => a !== '--');
  if (!arg || arg === '-h' || arg === '--help') {
    console.error(USAGE);
    return 1;
  }
  try {
    const { source, record, entries } = await load(arg);
    console.log(`Contest ${record.id} "${record.title}" (${record.status}): entries ${entries.length}, prizes ${record.prizes}; from ${source}`);
    const report = verifyContest(record, entries);
    for (const c of report.checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    const notDrawn = report.checks.some((c) => c.name === 'drawn');
    console.log(
      report.agree
        ? 'AGREE: the published winners follow from the committed seed and the published entries.'
        : notDrawn
          ? 'DISAGREE: nothing to verify before the draw; run this again once the winners are published.'
          : 'DISAGREE: the published record does not prove these winners.',
    );
    return report.agree ? 0 : 1;
  } catch (err) {
    if (!(err instanceof VerifyError)) throw err;
    console.error(err.message);
    console.log('DISAGREE: could not verify.');
    return 1;
  }
}

process.exitCode = await main();
