import { randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../../core/config.js';
import { loadApnsKey, loadWalletSigner, type WalletSigner } from '../../core/wallet/wallet-signer.js';
import { devCredentials, readDevWalletCertificates, type DevWalletFiles } from './wallet-dev-certs.js';

export interface ApnsSetup {
  host: string;
  key: KeyObject;
  keyId: string;
  teamId: string;
  concurrency: number;
}

export type WalletSetup =
  | { enabled: false; reason: string }
  | { enabled: true; source: 'configured' | 'dev'; signer: WalletSigner; linkSecret: string; apns: ApnsSetup | null; summary: string };

/** DATA_DIR/wallet-dev: where `npm run wallet:dev-certs` writes the throw-away certificates. */
export function devCertsDir(config: Pick<Config, 'dataDir'>): string {
  return resolve(config.dataDir, 'wallet-dev');
}

/** WALLET_LINK_SECRET, else one generated once into DATA_DIR/wallet-link-secret (like the admin token). */
export function resolveLinkSecret(config: Pick<Config, 'dataDir' | 'wallet'>): string {
  if (config.wallet.linkSecret) return config.wallet.linkSecret;
  const file = resolve(config.dataDir, 'wallet-link-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(resolve(config.dataDir), { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/**
 * Decides, at start-up, how the wallet runs: with the configured certificates; else (not in
 * production) with DATA_DIR/wallet-dev when `npm run wallet:dev-certs` made it; else off.
 * Certificates that are present but bad throw WalletCertificateError: the start fails with
 * its message rather than running without a wallet nobody notices is broken.
 */
export function resolveWalletSetup(config: Config, now: Date = new Date()): WalletSetup {
  let source: 'configured' | 'dev' = 'configured';
  let creds = config.wallet.credentials;
  let dev: DevWalletFiles | null = null;
  if (!creds && config.env !== 'production') {
    dev = readDevWalletCertificates(devCertsDir(config));
    if (dev) {
      creds = devCredentials(dev);
      source = 'dev';
    }
  }
  if (!creds) return { enabled: false, reason: 'no WALLET_SIGNER_CERT (for a laptop: npm run wallet:dev-certs)' };
  const signer = loadWalletSigner(creds, now);
  let apns: ApnsSetup | null = null;
  if (config.wallet.apns) {
    const a = config.wallet.apns;
    apns = { host: a.host, key: loadApnsKey(a), keyId: a.keyId, teamId: a.teamId, concurrency: a.concurrency };
  } else if (dev && config.wallet.devApnsHost) {
    // A laptop: the dev certificates come with an APNs key; pushes go to the local APNs given
    // as APNS_HOST (never to Apple, which would refuse the throw-away key anyway).
    apns = { host: config.wallet.devApnsHost, key: loadApnsKey({ key: dev.apnsKey }), keyId: dev.apnsKeyId, teamId: dev.teamId, concurrency: config.wallet.apnsConcurrency };
  }
  const linkSecret = resolveLinkSecret(config);
  const what = source === 'dev' ? `dev certificates in ${devCertsDir(config)} (NOT FOR PRODUCTION)` : signer.passTypeId;
  const pushes = apns
    ? `pushes via ${apns.host}${source === 'dev' && !config.wallet.apns ? ' with the dev APNs key' : ''}`
    : source === 'dev'
      ? 'no pushes (dev certificates push only to a local APNs: set APNS_HOST to it)'
      : 'no pushes (no APNS_KEY)';
  return {
    enabled: true,
    source,
    signer,
    linkSecret,
    apns,
    summary: `Wallet: on, ${what}, certificate valid until ${signer.expiresAt.toISOString().slice(0, 10)}, ${pushes}`,
  };
}

