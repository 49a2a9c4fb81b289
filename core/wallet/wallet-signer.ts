import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ApnsConfig, WalletCredentials } from '../config.js';

/** A wallet certificate problem found at start-up; the message names the variable and what to do. */
export class WalletCertificateError extends Error {
  readonly code = 'wallet_certificates_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'WalletCertificateError';
  }
}

/** PEM texts ready for passkit-generator; the key is decrypted here so the signing threads need no passphrase. */
export interface SignerPem {
  signerCert: string;
  signerKey: string;
  wwdr: string;
}

export interface WalletSigner {
  passTypeId: string;
  teamId: string;
  pem: SignerPem;
  /** When the pass certificate expires: passes cannot be updated after that. */
  expiresAt: Date;
  /** The certificate's subject, for the start-up summary. */
  subject: string;
}

/** A variable holds PEM text itself, or a path to a PEM file. */
export function readPem(variable: string, value: string): string {
  if (value.includes('-----BEGIN')) return value.replaceAll('\\n', '\n');
  if (!existsSync(value)) throw new WalletCertificateError(`${variable}: no such file ${value} (give a path to a PEM file, or the PEM text itself)`);
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    throw new WalletCertificateError(`${variable}: cannot read ${value}: ${(err as Error).message}`);
  }
}

function certificate(variable: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new WalletCertificateError(`${variable} is not a PEM X.509 certificate`);
  }
}

function checkDates(variable: string, cert: X509Certificate, now: Date): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) throw new WalletCertificateError(`${variable} is not valid before ${from.toISOString()}`);
  if (now > to) throw new WalletCertificateError(`${variable} expired on ${to.toISOString()}: download a new one from developer.apple.com`);
}

/** `UID=pass.x\nCN=…` → { UID: 'pass.x', CN: … } */
function subjectFields(cert: X509Certificate): Record<string, string> {
  return Object.fromEntries(
    cert.subject
      .split('\n')
      .map((line) => line.split('=', 2))
      .filter((kv): kv is [string, string] => kv.length === 2)
      .map(([k, v]) => [k.trim(), v.trim()]),
  );
}

function privateKey(pem: string, passphrase: string | undefined): KeyObject {
  if (!passphrase && /BEGIN ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new WalletCertificateError('WALLET_SIGNER_KEY is encrypted: set WALLET_SIGNER_PASSPHRASE');
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem', ...(passphrase ? { passphrase } : {}) });
  } catch (err) {
    const msg = (err as Error).message;
    if (/passphrase|decrypt|bad decrypt/i.test(msg)) {
      throw new WalletCertificateError('WALLET_SIGNER_KEY cannot be decrypted: wrong WALLET_SIGNER_PASSPHRASE');
    }
    throw new WalletCertificateError(`WALLET_SIGNER_KEY is not a PEM private key (${msg})`);
  }
}

/**
 * Loads and checks the pass-signing material once, at start-up, so that a wrong file fails
 * the start with one clear sentence instead of every pass download failing later:
 * readable PEM, an RSA key (what Apple issues and passkit-generator signs with) that belongs
 * to the certificate, dates, the certificate issued by the WWDR certificate, and its subject
 * naming the configured pass type id (UID) and team (OU).
 */
export function loadWalletSigner(creds: WalletCredentials, now: Date = new Date()): WalletSigner {
  const certPem = readPem('WALLET_SIGNER_CERT', creds.signerCert);
  const wwdrPem = readPem('WALLET_WWDR_CERT', creds.wwdrCert);
  const keyPem = readPem('WALLET_SIGNER_KEY', creds.signerKey);
  const cert = certificate('WALLET_SIGNER_CERT', certPem);
  const wwdr = certificate('WALLET_WWDR_CERT', wwdrPem);
  const key = privateKey(keyPem, creds.signerKeyPassphrase);
  if (key.asymmetricKeyType !== 'rsa') {
    throw new WalletCertificateError(`WALLET_SIGNER_KEY is an ${key.asymmetricKeyType ?? 'unknown'} key; Pass Type ID certificates use RSA keys`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new WalletCertificateError('WALLET_SIGNER_KEY does not belong to WALLET_SIGNER_CERT (export the key and the certificate from the same keychain entry)');
  }
  checkDates('WALLET_SIGNER_CERT', cert, now);
  checkDates('WALLET_WWDR_CERT', wwdr, now);
  if (!cert.checkIssued(wwdr) || !cert.verify(wwdr.publicKey)) {
    throw new WalletCertificateError(
      `WALLET_SIGNER_CERT was not issued by WALLET_WWDR_CERT (its issuer is "${cert.issuer.replaceAll('\n', ', ')}"; current pass certificates need the WWDR G4 certificate)`,
    );
  }
  const subject = subjectFields(cert);
  if (subject.UID !== creds.passTypeId) {
    throw new WalletCertificateError(`WALLET_SIGNER_CERT is for pass type "${subject.UID ?? '(none)'}" but WALLET_PASS_TYPE_ID is "${creds.passTypeId}"`);
  }
  if (subject.OU !== creds.teamId) {
    throw new WalletCertificateError(`WALLET_SIGNER_CERT belongs to team "${subject.OU ?? '(none)'}" but WALLET_TEAM_ID is "${creds.teamId}"`);
  }
  return {
    passTypeId: creds.passTypeId,
    teamId: creds.teamId,
    // PKCS#1 without a passphrase: node-forge (inside passkit-generator) reads every RSA key in this form.
    pem: { signerCert: certPem, signerKey: key.export({ type: 'pkcs1', format: 'pem' }).toString(), wwdr: wwdrPem },
    expiresAt: new Date(cert.validTo),
    subject: cert.subject.replaceAll('\n', ', '),
  };
}

/** The APNs token key (.p8): an EC P-256 private key, checked at start-up like the certificates. */
export function loadApnsKey(apns: Pick<ApnsConfig, 'key'>): KeyObject {
  const pem = readPem('APNS_KEY', apns.key);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new WalletCertificateError(`APNS_KEY is not a PEM private key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new WalletCertificateError('APNS_KEY must be the .p8 key from developer.apple.com → Keys (EC P-256)');
  }
  return key;
}
