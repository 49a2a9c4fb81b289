/**
 * Pass signing: the signing pool (piscina threads) against plain single-threaded
 * passkit-generator on the event loop, measured in one run on the same passes. Prints
 * passes per second and the event loop's delay (p99, max) while each runs, and the ratios.
 * The delay is what an HTTP request waiting behind the signing would feel.
 *   BENCH_PASSES (1000), BENCH_THREADS (CPUs − 1, at least 1), BENCH_IN_FLIGHT (threads × 4)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createI18n } from '../core/i18n/i18n.js';
import { renderSignInput } from '../core/wallet/pass-files.js';
import { createInlineGenerator, createPassPool, defaultPoolSize, type PassGenerator } from '../infra/wallet/pass-pool.js';
import { buildPassState } from '../core/wallet/pass-state.js';
import { createDevWalletCertificates, devCredentials } from '../infra/wallet/wallet-dev-certs.js';
import { loadModels, modelFor } from '../core/wallet/wallet-models.js';
import { loadWalletSigner } from '../core/wallet/wallet-signer.js';
import type { SignInput } from '../core/wallet/wallet.types.js';
import { progress } from './bench.servers.js';

const N = Number(process.env.BENCH_PASSES ?? 1000);
const THREADS = Number(process.env.BENCH_THREADS ?? defaultPoolSize());
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? THREADS * 4);

const dir = mkdtempSync(join(tmpdir(), 'wallet-bench-'));
try {
  const files = await createDevWalletCertificates(join(dir, 'certs'));
  const signer = loadWalletSigner(devCredentials(files));
  const i18n = await createI18n();
  const models = loadModels();
  const model = modelFor(models, 'gold');
  // Every pass a different state (balance, name), as a real run signs different passes.
  const inputs: SignInput[] = Array.from({ length: N }, (_, i) => {
    const serial = `7012${String(100_000_000 + i).padStart(10, '0')}`;
    const state = buildPassState({
      serial,
      cardNumber: serial,
      balance: 1000 + i,
      level: { id: 'gold', name: { ru: 'Золотой', en: 'Gold' } },
      memberName: `Участник ${i}`,
      rulesUrl: 'https://shop.example/rules',
      offer: { text: 'Кофе −20% до воскресенья', at: new Date() },
      model,
      design: { phones: [{ label: 'Поддержка', phone: '+7 800 555-35-35' }] },
      identity: { passTypeId: signer.passTypeId, teamId: signer.teamId, organizationName: 'Bench', webServiceURL: 'https://loyalty.example/passkit' },
      tokenHash: 'f'.repeat(64),
      i18n,
    });
    return renderSignInput(state, model, `token-${i}-0123456789abcdef`, null);
  });

  /** The loop's own delay with nothing to do but turn (the histogram's floor on this machine). */
  async function idle(ms: number): Promise<number> {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const end = performance.now() + ms;
    while (performance.now() < end) await new Promise((r) => setImmediate(r));
    h.disable();
    return h.percentile(99) / 1e6;
  }

  async function measure(label: string, gen: PassGenerator, inFlight: number): Promise<{ perSec: number; p99: number; max: number }> {
    // Warm-up outside the measurement: module loading, JIT, thread start.
    await Promise.all(inputs.slice(0, Math.max(2, gen.threads)).map((x) => gen.generate(x)));
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const started = performance.now();
    let next = 0;
    let done = 0;
    const lane = async (): Promise<void> => {
      while (next < N) {
        const input = inputs[next++]!;
        await gen.generate(input);
        progress(label, ++done, N);
        // Each pass as its own request: give the loop a turn, as a server between requests would.
        await new Promise((r) => setImmediate(r));
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const seconds = (performance.now() - started) / 1000;
    h.disable();
    return { perSec: N / seconds, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
  }

  console.log(`wallet signing bench: ${N} passes, pool of ${THREADS} thread(s) with ${IN_FLIGHT} in flight, vs inline on the event loop`);
  const floor = await idle(2000);
  const inline = createInlineGenerator({ pem: signer.pem });
  const a = await measure('inline', inline, 1);
  const pool = createPassPool({ pem: signer.pem, threads: THREADS });
  const b = await measure('pool', pool, IN_FLIGHT);
  await pool.close();
  const fmt = (x: number): string => x.toFixed(1);
  console.log(`${'inline (event loop)'.padEnd(20)}: ${fmt(a.perSec)} passes/s, event-loop delay p99 ${fmt(a.p99)} ms, max ${fmt(a.max)} ms`);
  console.log(`${`pool (${THREADS} thread(s))`.padEnd(20)}: ${fmt(b.perSec)} passes/s, event-loop delay p99 ${fmt(b.p99)} ms, max ${fmt(b.max)} ms`);
  console.log(`${'idle loop'.padEnd(20)}: event-loop delay p99 ${fmt(floor)} ms (the measurement's floor)`);
  console.log(`ratios (pool / inline): throughput ${(b.perSec / a.perSec).toFixed(2)}×, event-loop p99 ${(b.p99 / a.p99).toFixed(3)}× (lower is better)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
