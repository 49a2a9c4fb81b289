import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { createPassSigner } from '../../core/wallet/pass-sign.js';
import type { SignerPem } from '../../core/wallet/wallet-signer.js';
import type { PassGenerator, SignInput } from '../../core/wallet/wallet.types.js';

export type { PassGenerator };

export interface PassPoolOptions {
  pem: SignerPem;
  modelsDir?: string | undefined;
  /** Default: one less than the CPUs (the event loop keeps one), at least one. */
  threads?: number | undefined;
}

/**
 * The threads run TypeScript through tsx's loader, named by absolute URL: a thread inherits no
 * loader from its parent when that parent is not `node --import tsx` (vitest, for one).
 */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * Signing threads (piscina). Each thread loads the models and the certificates once (from
 * workerData); a task carries only the rendered pass.json, strings and template images, and
 * comes back as the .pkpass bytes. The HTTP event loop only waits on a promise.
 */
export function createPassPool(opts: PassPoolOptions): PassGenerator {
  const threads = opts.threads ?? defaultPoolSize();
  const pool = new Piscina<SignInput, Uint8Array>({
    filename: new URL('./pass.worker.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    execArgv: ['--import', TSX_LOADER],
    workerData: { pem: opts.pem, modelsDir: opts.modelsDir },
  });
  let signed = 0;
  return {
    threads,
    get signed() {
      return signed;
    },
    async generate(input) {
      const out = await pool.run(input);
      signed++;
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    },
    async close() {
      await pool.close();
    },
  };
}

/** The same signer on the calling thread: the benchmark's baseline, and small tools. */
export function createInlineGenerator(opts: Omit<PassPoolOptions, 'threads'>): PassGenerator {
  const sign = createPassSigner(opts.pem, opts.modelsDir);
  let signed = 0;
  return {
    threads: 0,
    get signed() {
      return signed;
    },
    async generate(input) {
      const out = sign(input);
      signed++;
      return out;
    },
    async close() {
      // nothing to release
    },
  };
}
