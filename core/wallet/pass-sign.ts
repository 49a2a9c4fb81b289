import { PKPass } from 'passkit-generator';
import type { SignerPem } from './wallet-signer.js';
import { loadModels, type PassModel } from './wallet-models.js';
import { PASS_LANGUAGES, type SignInput } from './wallet.types.js';

export type SignPass = (input: SignInput) => Buffer;

/**
 * Signs passes with passkit-generator: the model folder's files, our pass.json and strings,
 * the template's images → manifest (SHA-1 of every file), PKCS#7 detached signature with the
 * WWDR certificate embedded, zip. CPU-bound (RSA in JavaScript): the HTTP process runs it in
 * the signing threads (pass-pool.ts), never on its event loop.
 */
export function createPassSigner(pem: SignerPem, modelsDir?: string): SignPass {
  let models: Map<string, PassModel> | undefined;
  const certificates = { wwdr: pem.wwdr, signerCert: pem.signerCert, signerKey: pem.signerKey };
  return (input) => {
    models ??= loadModels(modelsDir);
    const model = models.get(input.model);
    if (!model) throw new Error(`unknown pass model ${input.model}`);
    const files: Record<string, Buffer> = { ...model.files, 'pass.json': Buffer.from(JSON.stringify(input.passJson)) };
    for (const [name, data] of Object.entries(input.images)) files[name] = Buffer.from(data);
    const pass = new PKPass(files, certificates);
    // Merged over the model's own pass.strings (logo text, description); ours win.
    for (const lang of PASS_LANGUAGES) pass.localize(lang, input.strings[lang]);
    return pass.getAsBuffer();
  };
}
