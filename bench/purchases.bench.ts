/**
 * Purchases over HTTP on loopback (autocannon), at 50 and 200 concurrent connections: p50,
 * p99 and errors, against GET /healthz on the same server in the same run (the cost of the
 * HTTP stack alone), so the figures read as ratios. Each request is a new receipt for one of
 * many cards, as at a busy chain's tills.
 */
import autocannon from 'autocannon';
import { buildApp } from '../api/app.js';
import { createLogger } from '../infra/logger.js';
import { benchCore } from './bench.servers.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CARDS = 200;

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
try {
  console.log(`purchases bench on ${b.mongo.source}: ${url}, ${DURATION} s per run`);
  const { key } = (await b.core.stores.create('Bench store')).valueOf() as { key: string };
  const cards: string[] = [];
  for (let i = 0; i < CARDS; i++) {
    cards.push((await b.core.members.enroll({ phone: `+7999${String(2000000 + i)}`, name: `Bench ${i}`, consent: true, channel: 'till' })).card._id);
    if ((i + 1) % 50 === 0) process.stderr.write(`  cards: ${i + 1}/${CARDS}\n`);
  }
  let seq = 0;
  const run = async (title: string, connections: number, opts: Partial<autocannon.Options>) => {
    const r = await autocannon({ url, connections, duration: DURATION, ...opts });
    const errors = r.errors + r.timeouts + r.non2xx;
    if (r.non2xx > 0) console.log(`  status codes: 1xx ${r['1xx']} 2xx ${r['2xx']} 3xx ${r['3xx']} 4xx ${r['4xx']} 5xx ${r['5xx']}`);
    console.log(
      `${title.padEnd(28)} conns ${String(connections).padStart(3)}  req/s ${r.requests.average.toFixed(0).padStart(6)}  p50 ${String(r.latency.p50).padStart(5)} ms  p99 ${String(r.latency.p99).padStart(5)} ms  errors ${errors}`,
    );
    return r;
  };
  const purchase = (connections: number) =>
    run('POST /api/v1/purchases', connections, {
      url: `${url}/api/v1/purchases`,
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({ receiptId: `bench-${++seq}`, cardNumber: cards[seq % CARDS], total: 10000 + (seq % 50000) }),
          }),
        },
      ],
    });
  for (const connections of [50, 200]) {
    const base = await run('GET /healthz (baseline)', connections, { url: `${url}/healthz` });
    const p = await purchase(connections);
    console.log(`  → purchase p99 / healthz p99 = ${(p.latency.p99 / Math.max(1, base.latency.p99)).toFixed(1)}×; goal at 50 conns: p99 ≤ 50 ms, 0 errors`);
  }
  // The ledger stays consistent under the load.
  let checked = 0;
  for (const c of cards.slice(0, 20)) {
    const card = (await b.core.cards.byNumber(c))!;
    if (card.balance !== (await b.core.ledger.appliedSum(c))) throw new Error(`invariant broken on ${c}`);
    checked++;
  }
  console.log(`invariant balance = Σ entries holds on ${checked} sampled cards`);
} finally {
  await app.close();
  await b.close();
}
