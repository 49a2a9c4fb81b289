/**
 * Import, segments and exports on the embedded store (or MONGODB_URL), each measured against
 * the bare operation on the same server in the same run:
 *  1. import of BENCH_IMPORT_ROWS rows (phone written various ways, name, old card for one in
 *     four, consent date, opt-ins) in rows/s, against a bare insertMany of as many documents;
 *     then rows that carry an opening balance and counters (ledger entry + card update each),
 *     imported onto that base;
 *  2. a segment count (AND/OR rules) over BENCH_SEGMENT_MEMBERS members, against a bare
 *     countDocuments on the same collection;
 *  3. peak memory while BENCH_EXPORT_ROWS members are exported as XLSX and as CSV.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Types } from 'mongoose';
import { luhnCheckDigit } from '../core/cards/card-number.js';
import { createCore } from '../core/core.js';
import { createI18n } from '../core/i18n/i18n.js';
import { connectMongo, poolSizeFor } from '../infra/mongo.js';
import { benchCore, progress, summary } from './bench.servers.js';

const IMPORT_ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const LEDGER_ROWS = Math.max(1, Math.round(IMPORT_ROWS / 200));
const SEGMENT_MEMBERS = Number(process.env.BENCH_SEGMENT_MEMBERS ?? 100_000);
const EXPORT_ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 100_000);
const fmt = (x: number, d = 1): string => x.toFixed(d);

const b = await benchCore();
const segConn = await connectMongo(b.mongo.url, `bench_seg_${Date.now()}`, 10_000, { maxPoolSize: poolSizeFor(b.mongo.source) });
try {
  console.log(`insight bench on ${b.mongo.source} (${b.mongo.url}): import ${IMPORT_ROWS} rows (+${LEDGER_ROWS} with balances), segment over ${SEGMENT_MEMBERS} members, export ${EXPORT_ROWS} rows`);

  // 1. Import.
  const phone = (i: number): string => {
    const d = `9${String(1_000_000_000 + i).slice(1)}`;
    return i % 3 === 0 ? `+7 (${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6, 8)}-${d.slice(8)}` : i % 3 === 1 ? `8${d}` : `+7${d}`;
  };
  const card = (i: number): string => {
    const body = `56${String(i).padStart(9, '0')}`;
    return body + String(luhnCheckDigit(body));
  };
  async function* file(from: number, to: number, withBalance: boolean): AsyncGenerator<Buffer> {
    yield Buffer.from('\uFEFFТелефон;ФИО;Номер карты;Дата согласия;Рассылки' + (withBalance ? ';Баллы;Сумма покупок;Количество покупок' : '') + '\r\n');
    let chunk = '';
    for (let i = from; i < to; i++) {
      chunk += `${phone(i)};Клиент ${i};${i % 4 === 0 ? card(i) : ''};15.01.2024;${i % 2 ? 'telegram' : ''}` + (withBalance ? `;${100 + (i % 900)};${1000 + i},50;${1 + (i % 9)}` : '') + '\r\n';
      if (chunk.length > 256 * 1024) {
        yield Buffer.from(chunk);
        chunk = '';
      }
    }
    yield Buffer.from(chunk);
  }
  const imports = b.core.insight.imports;
  const runImport = async (label: string, from: number, to: number, withBalance: boolean): Promise<number> => {
    const id = await imports.create({ body: file(from, to, withBalance), contentType: 'text/csv', dryRun: false, maxBytes: 2 ** 31 });
    const t = performance.now();
    const v = await imports.run(id, (p) => progress(`${label} (${p.progress.phase}), %`, p.progress.percent, 100));
    const s = (performance.now() - t) / 1000;
    if (v.created !== to - from || v.failed !== 0) throw new Error(`import went wrong: ${JSON.stringify({ created: v.created, failed: v.failed, errors: v.errors.slice(0, 3) })}`);
    return (to - from) / s;
  };
  const ours = await runImport('import', 0, IMPORT_ROWS, false);
  const bare = b.conn.collection('bench_bare_members');
  let t = performance.now();
  for (let i = 0; i < IMPORT_ROWS; i += 1000) {
    await bare.insertMany(Array.from({ length: Math.min(1000, IMPORT_ROWS - i) }, (_, k) => ({ phone: `+7999${i + k}`, name: `Клиент ${i + k}`, card: null, consent: new Date(), optIn: {} })));
    progress('bare insertMany', Math.min(IMPORT_ROWS, i + 1000), IMPORT_ROWS);
  }
  const bareRate = IMPORT_ROWS / ((performance.now() - t) / 1000);
  const ledgerRate = await runImport('import with balances', IMPORT_ROWS, IMPORT_ROWS + LEDGER_ROWS, true);
  console.log(`import (profile columns)        : ${fmt(ours)} rows/s   bare insertMany: ${fmt(bareRate)} docs/s   ratio (bare / ours) ${fmt(bareRate / ours)}×`);
  console.log(`import with balance + counters  : ${fmt(ledgerRate)} rows/s onto ${IMPORT_ROWS} cards (a ledger entry and a card update per row)`);

  // 2. Segment count.
  const seg = createCore({ conn: segConn, timeZone: 'Europe/Moscow', phoneHashSecret: 'bench-phone-hash-secret-0123456789abcdef' });
  await seg.init();
  const now = Date.now();
  for (let i = 0; i < SEGMENT_MEMBERS; i += 1000) {
    const n = Math.min(1000, SEGMENT_MEMBERS - i);
    await segConn.collection('members').insertMany(
      Array.from({ length: n }, (_, k) => {
        const j = i + k;
        const buys = j % 3 === 0 ? 0 : 1 + (j % 17);
        return {
          _id: new Types.ObjectId(),
          phone: `+7998${String(j).padStart(7, '0')}`,
          name: `M${j}`,
          status: 'active',
          joinedVia: j % 2 ? 'telegram' : 'till',
          optIn: { telegram: true },
          registeredAt: new Date(now - (j % 700) * 86_400_000),
          createdAt: new Date(now),
          cardNumber: null,
          stats: buys ? { seq: 1, purchases: buys, spentKopecks: buys * 150_000 + j, lastPurchaseAt: new Date(now - (j % 400) * 86_400_000), earned: 0, redeemed: 0, expired: 0, balance: j % 500, levelId: 'base' } : undefined,
        };
      }),
    );
    progress('members for the segment', Math.min(SEGMENT_MEMBERS, i + 1000), SEGMENT_MEMBERS);
  }
  t = performance.now();
  const snap = await seg.insight.segments.rebuild();
  const buildS = (performance.now() - t) / 1000;
  const rules = { op: 'and', rules: [{ op: 'or', rules: [{ field: 'rfmGroup', op: 'in', value: ['champions', 'loyal'] }, { field: 'spentKopecks', op: 'gte', value: 2_000_000 }] }, { field: 'daysSinceLastPurchase', op: 'lt', value: 90 }, { field: 'channel', op: 'eq', value: 'telegram' }] };
  const coll = segConn.collection(snap.collection);
  const oursMs: number[] = [];
  const bareMs: number[] = [];
  let count = 0;
  for (let r = 0; r < 5; r++) {
    t = performance.now();
    await coll.countDocuments({});
    bareMs.push(performance.now() - t);
    t = performance.now();
    count = (await seg.insight.segments.count(rules)).count;
    oursMs.push(performance.now() - t);
    progress('segment counts', r + 1, 5);
  }
  const o = summary(oursMs);
  const s = summary(bareMs);
  console.log(`audience pass (RFM + segment collection) over ${SEGMENT_MEMBERS} members: ${fmt(buildS)} s`);
  console.log(`segment count (3 rules, AND/OR) : p50 ${fmt(o.p50)} ms (${count} members)   bare countDocuments: p50 ${fmt(s.p50)} ms   ratio ${fmt(o.p50 / s.p50, 2)}×`);

  // 3. Export memory.
  const exp = seg.insight.exports(await createI18n());
  for (const format of ['xlsx', 'csv'] as const) {
    global.gc?.();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed;
    const timer = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, 20);
    let bytes = 0;
    let rows = 0;
    t = performance.now();
    const { stream } = await exp.members({ format, lang: 'ru' });
    await pipeline(
      stream,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          // Rows are about 180 bytes: progress by bytes is close enough for a bar.
          rows = Math.min(EXPORT_ROWS, Math.round(bytes / 120));
          progress(`export ${format}`, rows, EXPORT_ROWS);
          cb();
        },
      }),
    );
    clearInterval(timer);
    progress(`export ${format}`, EXPORT_ROWS, EXPORT_ROWS);
    const mb = (x: number): string => fmt(x / 1024 / 1024);
    console.log(`export ${format.toUpperCase()} of ${Math.min(EXPORT_ROWS, SEGMENT_MEMBERS)} members: ${mb(bytes)} MB in ${fmt((performance.now() - t) / 1000)} s; peak RSS +${mb(peakRss - base.rss)} MB, peak heap +${mb(peakHeap - base.heapUsed)} MB over the start`);
  }
} finally {
  await segConn.dropDatabase().catch(() => undefined);
  await segConn.close();
  await b.close();
}
