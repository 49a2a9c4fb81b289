/**
 * The till under load, over HTTP on loopback (autocannon), measured in one run on one server:
 *  1. purchases/s at 50 connections over 200 cards, as a ratio to bare `findOneAndUpdate`
 *     `$inc`/s from 50 concurrent callers on the same server and connection pool
 *     (goal ≥ 0.2), and the purchase p99 (goal ≤ 500 ms, a till's usual budget);
 *  2. 60 purchases sent at once for ONE card (goal: all succeed, p99 ≤ 5 s);
 *  3. the user-visible invariant afterwards: every card's balance = welcome + Σ(accrued −
 *     redeemed) of the answers the tills got = Σ of its ledger entries.
 */
import autocannon from 'autocannon';
import { request } from 'node:http';
import { buildApp } from '../api/app.js';
import { createLogger } from '../infra/logger.js';
import { benchCore, percentile, progress } from './bench.servers.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CARDS = 200;
const CONNECTIONS = 50;

const b = await benchCore();
const adminToken = 'bench-admin-token-0123456789abcdef';
const app = await buildApp({
  logger: createLogger('silent'),
  health: { checks: {} },
  core: b.core,
  adminToken,
  lookupRateLimit: { max: 1_000_000, timeWindowMs: 60_000 },
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
const fmt = (x: number, d = 2): string => x.toFixed(d);

let serverErrors = 0;
/** What the tills were told, per card: Σ(accrued − redeemed) over 201s and 200s. */
const told = new Map<string, number>();
function record(card: string, status: number, body: string): void {
  if (status !== 200 && status !== 201) return;
  const r = JSON.parse(body) as { accrued: number; redeemed: number };
  told.set(card, (told.get(card) ?? 0) + r.accrued - r.redeemed);
}

function post(path: string, key: string, body: unknown): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

try {
  console.log(`purchases bench on ${b.mongo.source}: ${url}, ${DURATION} s per run, ${CONNECTIONS} connections, ${CARDS} cards`);
  const { key } = await b.core.stores.create('Bench store');
  const cards: string[] = [];
  for (let i = 0; i < CARDS; i++) {
    cards.push((await b.core.members.enroll({ phone: `+7999${String(2000000 + i)}`, name: `Bench ${i}`, consent: true, channel: 'till' })).card._id);
    if ((i + 1) % 50 === 0) process.stderr.write(`  cards: ${i + 1}/${CARDS}\n`);
  }
  const welcome = (await b.core.settings.current()).welcomeBonus;

  // 1a. The baseline: bare $inc from 50 concurrent callers for DURATION seconds.
  const bare = b.conn.collection<{ _id: string; n: number }>('bench_bare');
  await bare.insertOne({ _id: 'x', n: 0 });
  let bareOps = 0;
  const bareUntil = performance.now() + DURATION * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < bareUntil) {
        await bare.findOneAndUpdate({ _id: 'x' }, { $inc: { n: 1 } });
        bareOps++;
      }
    }),
  );
  const bareRate = bareOps / DURATION;
  console.log(`bare findOneAndUpdate $inc     ${CONNECTIONS} callers  ${fmt(bareRate, 0).padStart(6)} ops/s`);

  // 1b. Purchases over HTTP, each a new receipt for one of the cards; 40% redeem 1–20 points.
  // Every body sent is kept: requests still in flight when the run stops get no answer, so,
  // as a till would, the bench sends every receipt again afterwards and counts the answers.
  let seq = 0;
  const sent: { card: string; body: Record<string, unknown> }[] = [];
  const r = await autocannon({
    url: `${url}/api/v1/purchases`,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: 'POST',
        setupRequest: (req, context: object) => {
          const n = ++seq;
          const card = cards[n % CARDS]!;
          // One request in flight per connection: the context says whose answer comes back.
          (context as { card?: string }).card = card;
          const body = { receiptId: `bench-${n}`, cardNumber: card, total: 10_000 + (n % 90_000), ...(n % 5 < 2 ? { redeemPoints: 1 + (n % 20) } : {}) };
          sent.push({ card, body });
          return { ...req, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) };
        },
        onResponse: (status) => {
          if (status >= 500) serverErrors++;
        },
      },
    ],
  });
  const rate = r.requests.average;
  const bad = r.non2xx + r.errors + r.timeouts;
  console.log(`POST /api/v1/purchases         ${CONNECTIONS} conns    ${fmt(rate, 0).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  non-2xx/errors ${bad}`);
  console.log(`  → purchases/s ÷ bare $inc/s = ${fmt(rate / bareRate, 3)} (goal ≥ 0.2: ${rate / bareRate >= 0.2 ? 'met' : 'NOT met'}); p99 ${r.latency.p99} ms (goal ≤ 500 ms: ${r.latency.p99 <= 500 ? 'met' : 'NOT met'})`);

  // Every receipt again (the replay answers 200 with the first result, or records it now).
  for (let i = 0; i < sent.length; i += 25) {
    const batch = sent.slice(i, i + 25);
    const answers = await Promise.all(batch.map((x) => post('/api/v1/purchases', key, x.body)));
    answers.forEach((a, j) => record(batch[j]!.card, a.status, a.body));
    progress('replayed', Math.min(i + 25, sent.length), sent.length);
  }
  if (serverErrors > 0) console.log(`  5xx during the run: ${serverErrors}`);

  // 2. Sixty purchases at once on one card, a third of them paying with points.
  const one = cards[0]!;
  const burst = await Promise.all(
    Array.from({ length: 60 }, (_, i) => post('/api/v1/purchases', key, { receiptId: `one-${i}`, cardNumber: one, total: 20_000 + i * 100, ...(i % 3 === 0 ? { redeemPoints: 10 } : {}) })),
  );
  for (const x of burst) record(one, x.status, x.body);
  const ms = burst.map((x) => x.ms).sort((p, q) => p - q);
  const ok = burst.filter((x) => x.status === 201).length;
  console.log(`60 at once on one card: ${ok}/60 succeeded, p50 ${fmt(percentile(ms, 50), 0)} ms, p99 ${fmt(percentile(ms, 99), 0)} ms (goal: all, p99 ≤ 5000 ms: ${ok === 60 && percentile(ms, 99) <= 5000 ? 'met' : 'NOT met'})`);
  const statuses = new Map<number, number>();
  for (const x of burst) statuses.set(x.status, (statuses.get(x.status) ?? 0) + 1);
  if (ok !== 60) console.log(`  statuses: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ')}`);

  // 3. The invariant as a customer sees it.
  await b.core.recover(new Date(0));
  let wrong = 0;
  for (const c of cards) {
    const card = (await b.core.cards.byNumber(c))!;
    const expected = welcome + (told.get(c) ?? 0);
    if (card.balance !== expected || card.balance !== (await b.core.ledger.appliedSum(c))) wrong++;
  }
  console.log(`invariant balance = welcome + Σ told = Σ entries: ${wrong === 0 ? 'holds' : `BROKEN on ${wrong}`} for all ${CARDS} cards`);
} finally {
  await app.close();
  await b.close();
}
