import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { WalletCredentials } from '../../core/config.js';

const run = promisify(execFile);

/**
 * Throw-away certificates for a laptop and for tests, made with the `openssl` CLI (node:crypto
 * cannot issue X.509 certificates). The chain mirrors Apple's: a root CA → a fake "WWDR"
 * intermediate → the Pass Type ID signer, whose subject carries UID = pass type id and
 * OU = team id like a real one. Plus an APNs token key (.p8, EC P-256). Nothing here is
 * trusted by any iPhone: it is NOT FOR PRODUCTION.
 */
export interface DevWalletFiles {
  dir: string;
  passTypeId: string;
  teamId: string;
  apnsKeyId: string;
  caCert: string;
  wwdrCert: string;
  signerCert: string;
  signerKey: string;
  apnsKey: string;
}

const WARNING = `NOT FOR PRODUCTION

Throw-away certificates made by \`npm run wallet:dev-certs\` so that the wallet path (pass signing,
web service, pushes to a fake APNs) runs on a laptop. No iPhone trusts them: passes signed with
them do not install on a real device. Use a real Pass Type ID certificate for that (README,
"Apple Wallet"). Delete this folder at any time; the command makes a new one.
`;

interface DevMeta {
  passTypeId: string;
  teamId: string;
  apnsKeyId: string;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0] ?? ''} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** Creates the files in `dir` (replacing earlier ones) and returns where they are. */
export async function createDevWalletCertificates(
  dir: string,
  opts: { passTypeId?: string; teamId?: string; days?: number } = {},
): Promise<DevWalletFiles> {
  const abs = resolve(dir);
  rmSync(abs, { recursive: true, force: true });
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  const meta: DevMeta = {
    passTypeId: opts.passTypeId ?? 'pass.local.loyalty.dev',
    teamId: opts.teamId ?? 'DEVTEAM001',
    apnsKeyId: randomBytes(5).toString('hex').toUpperCase(),
  };
  const days = String(opts.days ?? 825);
  writeFileSync(join(abs, 'wwdr.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  writeFileSync(join(abs, 'signer.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  const tag = '(NOT FOR PRODUCTION)';
  await openssl(abs, ['req', '-x509', '-newkey', 'rsa:2048', '-noenc', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', days, '-subj', `/CN=Loyalty dev root CA ${tag}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await openssl(abs, ['req', '-new', '-newkey', 'rsa:2048', '-noenc', '-keyout', 'wwdr.key', '-out', 'wwdr.csr', '-subj', `/CN=Fake WWDR ${tag}/OU=G4/O=Loyalty dev`]);
  await openssl(abs, ['x509', '-req', '-in', 'wwdr.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', days, '-out', 'wwdr.crt', '-extfile', 'wwdr.ext']);
  // The subject of a real Pass Type ID certificate: UID = pass type id, OU = team id.
  const subject = `/UID=${meta.passTypeId}/CN=Pass Type ID: ${meta.passTypeId}/OU=${meta.teamId}/O=Loyalty dev ${tag}/C=RU`;
  await openssl(abs, ['req', '-new', '-newkey', 'rsa:2048', '-noenc', '-keyout', 'signer.key', '-out', 'signer.csr', '-subj', subject]);
  await openssl(abs, ['x509', '-req', '-in', 'signer.csr', '-CA', 'wwdr.crt', '-CAkey', 'wwdr.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', days, '-out', 'signer.crt', '-extfile', 'signer.ext']);
  const apns = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const apnsFile = `AuthKey_${meta.apnsKeyId}.p8`;
  writeFileSync(join(abs, apnsFile), apns.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  for (const f of ['wwdr.csr', 'signer.csr', 'wwdr.ext', 'signer.ext']) rmSync(join(abs, f), { force: true });
  writeFileSync(join(abs, 'wallet-dev.json'), `${JSON.stringify({ ...meta, notice: 'NOT FOR PRODUCTION' }, null, 2)}\n`);
  writeFileSync(join(abs, 'README-NOT-FOR-PRODUCTION.txt'), WARNING);
  return devFiles(abs, meta);
}

function devFiles(dir: string, meta: DevMeta): DevWalletFiles {
  return {
    dir,
    ...meta,
    caCert: join(dir, 'ca.crt'),
    wwdrCert: join(dir, 'wwdr.crt'),
    signerCert: join(dir, 'signer.crt'),
    signerKey: join(dir, 'signer.key'),
    apnsKey: join(dir, `AuthKey_${meta.apnsKeyId}.p8`),
  };
}

/** The dev files in `dir` when `npm run wallet:dev-certs` made them, else null. */
export function readDevWalletCertificates(dir: string): DevWalletFiles | null {
  const metaFile = join(resolve(dir), 'wallet-dev.json');
  if (!existsSync(metaFile)) return null;
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as DevMeta;
  const files = devFiles(resolve(dir), meta);
  return [files.wwdrCert, files.signerCert, files.signerKey].every((f) => existsSync(f)) ? files : null;
}

/** The dev files as the credentials the signer loads (paths, like a configured deployment). */
export function devCredentials(files: DevWalletFiles): WalletCredentials {
  return {
    passTypeId: files.passTypeId,
    teamId: files.teamId,
    signerCert: files.signerCert,
    signerKey: files.signerKey,
    signerKeyPassphrase: undefined,
    wwdrCert: files.wwdrCert,
  };
}
