/**
 * The ledger's cost, measured in one run on one server:
 *  - MongoDB commands per operation (the driver's command monitoring): a purchase without
 *    redemption, a purchase with redemption, a single movement (a manual adjustment), each on
 *    the till's path (its events go to a BullMQ queue in Redis, as in production: no MongoDB
 *    command is left for later);
 *  - latency of an accrual-only purchase and of a single movement against a bare
 *    `findOneAndUpdate` `$inc` on the same server, interleaved in rounds so both see the same
 *    machine state.
 * Goals (issue 9): ≤ 4 / ≤ 6 / ≤ 3 commands; a purchase at a partner's store (issue 15) as one
 * without redemption.
 */
import { benchCore, progress, SETTINGS_REFRESH, summary, total } from './bench.servers.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 30);

const b = await benchCore();
const fmt = (x: number): string => x.toFixed(2);
const tally = (t: Record<string, number>, n: number): string =>
  Object.entries(t)
    .sort()
    .map(([k, v]) => `${k} ${fmt(v / n)}`)
    .join(', ');
try {
  console.log(`ledger bench on ${b.mongo.source} (${b.mongo.url}), ${ROUNDS} rounds × ${PER_ROUND} ops each`);
  const { card } = await b.core.members.enroll({ phone: '+79990000001', name: 'Bench', consent: true, channel: 'till' });
  const bare = b.conn.collection<{ _id: string; balance: number }>('bench_bare');
  await bare.insertOne({ _id: 'card', balance: 0 });
  let seq = 0;
  // A partner's store: its terms come from the in-memory partner list, so it costs what the programme's store does.
  const partner = await b.core.partners.create({ name: 'Bench partner', percentBp: 1000, redeemCapBp: 5000 });
  const purchase = (redeem: number, partnerId?: string) =>
    b.core.purchases.purchase({ storeId: 'bench', receiptId: `r-${++seq}`, cardNumber: card._id, totalKopecks: 50_000, redeemPoints: redeem, partnerId });
  const adjust = () => b.core.ledger.adjust({ key: `a-${++seq}`, card: card._id, points: 1, reason: 'bench', author: 'bench' });
  for (let i = 0; i < 10; i++) {
    await bare.findOneAndUpdate({ _id: 'card' }, { $inc: { balance: 1 } });
    await purchase(0);
    await adjust();
  }

  // 1. Commands per operation.
  const N = 30;
  const perOp: { name: string; goal: number; path: Record<string, number> }[] = [];
  for (const [name, goal, op] of [
    ['purchase, no redemption', 4, () => purchase(0)],
    ['purchase with redemption', 6, () => purchase(5)],
    ["purchase at a partner's", 4, () => purchase(0, partner.id)],
    ['single movement (adjust)', 3, adjust],
  ] as const) {
    b.commands.start();
    for (let i = 0; i < N; i++) await op();
    const path = b.commands.stop();
    perOp.push({ name, goal, path });
  }
  console.log('\nMongoDB commands per operation, end to end (one at a time, by card number;');
  console.log(`"${SETTINGS_REFRESH}" is the programme settings read once a second per process, not per operation):`);
  for (const r of perOp) {
    const p = total(r.path) / N;
    console.log(`  ${r.name.padEnd(26)} ${fmt(p).padStart(5)}  (goal ≤ ${r.goal}: ${p <= r.goal ? 'met' : 'NOT met'})  [${tally(r.path, N)}]`);
  }

  // 2. Latency against a bare $inc, interleaved.
  const base: number[] = [];
  const buy: number[] = [];
  const move: number[] = [];
  const time = async (into: number[], f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    into.push(performance.now() - t);
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < PER_ROUND; i++) await time(base, () => bare.findOneAndUpdate({ _id: 'card' }, { $inc: { balance: 1 } }));
    for (let i = 0; i < PER_ROUND; i++) await time(buy, () => purchase(0));
    for (let i = 0; i < PER_ROUND; i++) await time(move, adjust);
    progress('rounds', r + 1, ROUNDS);
  }
  const s = summary(base);
  console.log('\nLatency, one operation at a time:');
  console.log(`  bare findOneAndUpdate $inc : mean ${fmt(s.mean)} ms  p50 ${fmt(s.p50)} ms  p99 ${fmt(s.p99)} ms  (n=${s.n})`);
  for (const [name, xs] of [['purchase (accrual only)', buy], ['single movement', move]] as const) {
    const o = summary(xs);
    console.log(`  ${name.padEnd(27)}: mean ${fmt(o.mean)} ms  p50 ${fmt(o.p50)} ms  p99 ${fmt(o.p99)} ms  → ${fmt(o.mean / s.mean)}× the bare update (mean)`);
  }
  const c = (await b.core.cards.byNumber(card._id))!;
  if (c.balance !== (await b.core.ledger.appliedSum(card._id))) throw new Error('invariant broken during bench');
  console.log('\ninvariant balance = Σ applied entries holds');
} finally {
  await b.close();
}
