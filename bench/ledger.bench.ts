/**
 * Our accrual (a ledger credit: claim entry, versioned card update with lots, record result)
 * against a bare findOneAndUpdate with $inc on the same server, measured in one run, in
 * interleaved rounds so both see the same machine state. Prints the ratio.
 */
import { benchCore, progress, summary } from './bench.servers.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 50);

const b = await benchCore();
try {
  console.log(`ledger bench on ${b.mongo.source} (${b.mongo.url}), ${ROUNDS} rounds × ${PER_ROUND} ops each`);
  const { card } = await b.core.members.enroll({ phone: '+79990000001', name: 'Bench', consent: true, channel: 'till' });
  const bare = b.conn.collection<{ _id: string; balance: number }>('bench_bare');
  await bare.insertOne({ _id: 'card', balance: 0 });
  const ours: number[] = [];
  const base: number[] = [];
  let key = 0;
  // Warm-up: both paths once, so connection set-up and JIT are not measured.
  for (let i = 0; i < 20; i++) {
    await bare.findOneAndUpdate({ _id: 'card' }, { $inc: { balance: 1 } });
    await b.core.ledger.apply({ key: `warm-${i}`, card: card._id, type: 'accrual', effect: 'credit', points: 1 });
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < PER_ROUND; i++) {
      const t = performance.now();
      await bare.findOneAndUpdate({ _id: 'card' }, { $inc: { balance: 1 } });
      base.push(performance.now() - t);
    }
    for (let i = 0; i < PER_ROUND; i++) {
      const t = performance.now();
      await b.core.ledger.apply({ key: `bench-${key++}`, card: card._id, type: 'accrual', effect: 'credit', points: 1 });
      ours.push(performance.now() - t);
    }
    progress('rounds', r + 1, ROUNDS);
  }
  const o = summary(ours);
  const s = summary(base);
  const fmt = (x: number): string => x.toFixed(2);
  console.log(`bare findOneAndUpdate $inc : mean ${fmt(s.mean)} ms  p50 ${fmt(s.p50)} ms  p99 ${fmt(s.p99)} ms  (n=${s.n})`);
  console.log(`ledger accrual             : mean ${fmt(o.mean)} ms  p50 ${fmt(o.p50)} ms  p99 ${fmt(o.p99)} ms  (n=${o.n})`);
  console.log(`ratio (ours / bare), mean ${fmt(o.mean / s.mean)}×, p50 ${fmt(o.p50 / s.p50)}×  (goal ≤ 3×)`);
  const c = (await b.core.cards.byNumber(card._id))!;
  if (c.balance !== (await b.core.ledger.appliedSum(card._id))) throw new Error('invariant broken during bench');
} finally {
  await b.close();
}
