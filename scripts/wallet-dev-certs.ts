/**
 * `npm run wallet:dev-certs`: throw-away pass certificates and an APNs key in
 * DATA_DIR/wallet-dev (default ./data/wallet-dev), so that `npm start` runs the whole wallet
 * path on a laptop. NOT FOR PRODUCTION: no iPhone trusts them (README, "Apple Wallet").
 * Options: --pass-type-id pass.x.y  --team-id ABCDE12345  --dir <folder>
 */
import { loadConfig } from '../core/config.js';
import { createDevWalletCertificates, devCredentials } from '../infra/wallet/wallet-dev-certs.js';
import { devCertsDir } from '../infra/wallet/wallet-setup.js';
import { loadWalletSigner } from '../core/wallet/wallet-signer.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const config = loadConfig(process.env);
const dir = option('dir') ?? devCertsDir(config);
const files = await createDevWalletCertificates(dir, {
  ...(option('pass-type-id') ? { passTypeId: option('pass-type-id') } : {}),
  ...(option('team-id') ? { teamId: option('team-id') } : {}),
});
// The same check `npm start` makes, so a broken openssl shows here and not at start-up.
const signer = loadWalletSigner(devCredentials(files));
console.log(`Wallet dev certificates (NOT FOR PRODUCTION) in ${files.dir}:
  CA (trust anchor for openssl checks) ${files.caCert}
  fake WWDR                            ${files.wwdrCert}
  pass signer                          ${files.signerCert}  (${signer.subject})
  signer key                           ${files.signerKey}
  APNs key (key id ${files.apnsKeyId})      ${files.apnsKey}
npm start now signs passes with them (pass type ${files.passTypeId}, team ${files.teamId}) unless WALLET_SIGNER_CERT is set.
No iPhone accepts these passes: use a real Pass Type ID certificate for a device (README, "Apple Wallet").`);
