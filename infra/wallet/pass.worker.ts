/**
 * Entry of a pass-signing thread (piscina loads it with the tsx loader, see pass-pool.ts).
 * The certificates and models come once per thread through workerData.
 */
import { workerData } from 'node:worker_threads';
import { createPassSigner } from '../../core/wallet/pass-sign.js';
import type { SignerPem } from '../../core/wallet/wallet-signer.js';
import type { SignInput } from '../../core/wallet/wallet.types.js';

const data = workerData as { pem: SignerPem; modelsDir: string | undefined };
const sign = createPassSigner(data.pem, data.modelsDir);

export default function signPass(input: SignInput): Buffer {
  return sign(input);
}
