/**
 * APNs pushes: our client against the fake APNs over one HTTP/2 session (TLS, ES256 JWT
 * checked on every push), one push at a time against `BENCH_CONCURRENCY` in flight, measured
 * in one run. Prints pushes per second, sessions opened and the ratio; the goal is ≥ 1,000/s.
 *   BENCH_PUSHES (5000), BENCH_CONCURRENCY (100)
 */
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { startFakeApns } from '../test/fakes/apns.fake.js';
import { createApnsClient, type ApnsClient } from '../workers/wallet/apns.client.js';
import { progress } from './bench.servers.js';

const N = Number(process.env.BENCH_PUSHES ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const TOPIC = 'pass.example.loyalty.bench';
const KEY_ID = 'BENCHKEY01';
const TEAM_ID = 'BENCHTEAM1';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const apns = await startFakeApns({ topic: TOPIC, keyId: KEY_ID, teamId: TEAM_ID, publicKey: createPublicKey(privateKey) });
const tokens = Array.from({ length: 1000 }, () => randomBytes(32).toString('hex'));

async function measure(label: string, client: ApnsClient, count: number, lanes: number): Promise<number> {
  let next = 0;
  let done = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < count) {
        const r = await client.push(tokens[next++ % tokens.length]!, TOPIC);
        if (r.status !== 200) failed++;
        progress(label, ++done, count);
      }
    }),
  );
  if (failed > 0) throw new Error(`${failed} pushes failed`);
  return count / ((performance.now() - started) / 1000);
}

try {
  console.log(`push bench: ${N} pushes to the fake APNs (TLS + HTTP/2, JWT verified per push), ${CONCURRENCY} in flight vs one at a time`);
  const client = createApnsClient({ host: apns.url, ca: apns.ca, key: privateKey, keyId: KEY_ID, teamId: TEAM_ID, concurrency: CONCURRENCY });
  await measure('warm-up', client, 200, CONCURRENCY);
  const serialCount = Math.min(N, 1000);
  const one = await measure('one at a time', client, serialCount, 1);
  const many = await measure(`${CONCURRENCY} in flight`, client, N, CONCURRENCY);
  console.log(`${'one at a time'.padEnd(16)}: ${one.toFixed(0)} pushes/s (${serialCount} pushes)`);
  console.log(`${`${CONCURRENCY} in flight`.padEnd(16)}: ${many.toFixed(0)} pushes/s (${N} pushes)`);
  console.log(`HTTP/2 sessions opened: ${client.sessionsOpened} (client), ${apns.sessions} (fake)`);
  console.log(`ratio (in flight / one at a time): ${(many / one).toFixed(1)}×; goal ≥ 1000 pushes/s: ${many >= 1000 ? 'met' : 'NOT met'}`);
  await client.close();
} finally {
  await apns.close();
}
