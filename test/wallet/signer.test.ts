import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';
import { createDevWalletCertificates, devCredentials, type DevWalletFiles } from '../../infra/wallet/wallet-dev-certs.js';
import { resolveWalletSetup } from '../../infra/wallet/wallet-setup.js';
import { loadApnsKey, loadWalletSigner, WalletCertificateError } from '../../core/wallet/wallet-signer.js';
import { createWalletTokens, hashToken, tokenMatches } from '../../core/wallet/wallet-tokens.js';

const run = promisify(execFile);
let dir: string;
let dev: DevWalletFiles;
let other: DevWalletFiles;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wallet-signer-'));
  [dev, other] = await Promise.all([createDevWalletCertificates(join(dir, 'data', 'wallet-dev')), createDevWalletCertificates(join(dir, 'other'))]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fails(change: Partial<ReturnType<typeof devCredentials>>, now?: Date): string {
  try {
    loadWalletSigner({ ...devCredentials(dev), ...change }, now);
  } catch (err) {
    expect(err).toBeInstanceOf(WalletCertificateError);
    return (err as Error).message;
  }
  throw new Error('expected the certificates to be refused');
}

describe('loadWalletSigner: certificates are checked at start-up', () => {
  it('accepts the dev set, from paths or PEM text, and hands out a decrypted PKCS#1 key', () => {
    const s = loadWalletSigner(devCredentials(dev));
    expect(s).toMatchObject({ passTypeId: 'pass.local.loyalty.dev', teamId: 'DEVTEAM001' });
    expect(s.pem.signerKey).toContain('BEGIN RSA PRIVATE KEY');
    expect(loadWalletSigner({ ...devCredentials(dev), signerCert: readFileSync(dev.signerCert, 'utf8') }).subject).toContain('UID=pass.local.loyalty.dev');
  });

  it('names what is wrong: missing file, not PEM, mismatched key, expiry, issuer, pass type, team', () => {
    expect(fails({ signerCert: join(dir, 'nope.pem') })).toMatch(/WALLET_SIGNER_CERT: no such file/);
    expect(fails({ wwdrCert: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----' })).toMatch(/WALLET_WWDR_CERT is not a PEM X.509 certificate/);
    expect(fails({ signerKey: other.signerKey })).toMatch(/WALLET_SIGNER_KEY does not belong to WALLET_SIGNER_CERT/);
    expect(fails({}, new Date('2040-01-01'))).toMatch(/WALLET_SIGNER_CERT expired on/);
    expect(fails({ wwdrCert: other.wwdrCert })).toMatch(/was not issued by WALLET_WWDR_CERT/);
    expect(fails({ passTypeId: 'pass.com.other' })).toMatch(/is for pass type "pass.local.loyalty.dev" but WALLET_PASS_TYPE_ID is "pass.com.other"/);
    expect(fails({ teamId: 'OTHERTEAM1' })).toMatch(/belongs to team "DEVTEAM001"/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(fails({ signerKey: ec })).toMatch(/Pass Type ID certificates use RSA keys/);
  });

  it('reads an encrypted key with its passphrase and says so when the passphrase is wrong or missing', async () => {
    const enc = join(dir, 'signer.enc.key');
    await run('openssl', ['pkcs8', '-topk8', '-in', dev.signerKey, '-out', enc, '-passout', 'pass:s3cret-phrase', '-v2', 'aes-256-cbc']);
    expect(loadWalletSigner({ ...devCredentials(dev), signerKey: enc, signerKeyPassphrase: 's3cret-phrase' }).pem.signerKey).toContain('BEGIN RSA PRIVATE KEY');
    expect(fails({ signerKey: enc, signerKeyPassphrase: 'wrong' })).toMatch(/wrong WALLET_SIGNER_PASSPHRASE/);
    expect(fails({ signerKey: enc })).toMatch(/set WALLET_SIGNER_PASSPHRASE/);
  });

  it('checks the APNs key is the EC P-256 .p8 key', () => {
    expect(loadApnsKey({ key: dev.apnsKey }).asymmetricKeyType).toBe('ec');
    expect(() => loadApnsKey({ key: dev.signerKey })).toThrow(/APNS_KEY must be the .p8 key/);
  });
});

describe('wallet configuration', () => {
  it('wants the certificate variables as a set, and a link secret in production', () => {
    let err: unknown;
    try {
      loadConfig({ WALLET_SIGNER_CERT: dev.signerCert, APNS_KEY: dev.apnsKey, NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(24), PHONE_HASH_SECRET: 'p'.repeat(32) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.variable).sort()).toEqual(
      ['APNS_KEY', 'APNS_KEY_ID', 'WALLET_PASS_TYPE_ID', 'WALLET_SIGNER_KEY', 'WALLET_TEAM_ID', 'WALLET_WWDR_CERT'].sort(),
    );
    const full = { WALLET_PASS_TYPE_ID: dev.passTypeId, WALLET_TEAM_ID: dev.teamId, WALLET_SIGNER_CERT: dev.signerCert, WALLET_SIGNER_KEY: dev.signerKey, WALLET_WWDR_CERT: dev.wwdrCert };
    expect(() => loadConfig({ ...full, NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(24), PHONE_HASH_SECRET: 'p'.repeat(32) })).toThrow(/WALLET_LINK_SECRET/);
    const c = loadConfig({ ...full, APNS_KEY: dev.apnsKey, APNS_KEY_ID: dev.apnsKeyId, APNS_HOST: 'https://api.sandbox.push.apple.com/' });
    expect(c.wallet.credentials?.passTypeId).toBe(dev.passTypeId);
    expect(c.wallet.apns).toMatchObject({ host: 'https://api.sandbox.push.apple.com', keyId: dev.apnsKeyId, teamId: dev.teamId });
    expect(loadConfig({}).wallet).toMatchObject({ credentials: null, apns: null, debounceMs: 2000, pushRate: 200 });
  });

  it('the embedded start uses DATA_DIR/wallet-dev when nothing is configured, never in production, and fails on bad files', () => {
    const dataDir = join(dir, 'data');
    const setup = resolveWalletSetup(loadConfig({ DATA_DIR: dataDir }));
    expect(setup).toMatchObject({ enabled: true, source: 'dev', apns: null });
    expect(setup.enabled && setup.summary).toMatch(/NOT FOR PRODUCTION/);
    expect(readFileSync(join(dataDir, 'wallet-link-secret'), 'utf8').trim().length).toBeGreaterThanOrEqual(32);
    expect(resolveWalletSetup(loadConfig({ DATA_DIR: join(dir, 'empty') }))).toMatchObject({ enabled: false });
    expect(resolveWalletSetup(loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(24), PHONE_HASH_SECRET: 'p'.repeat(32) }))).toMatchObject({ enabled: false });

    const broken = join(dir, 'broken.crt');
    copyFileSync(other.signerCert, broken);
    const env = { WALLET_PASS_TYPE_ID: dev.passTypeId, WALLET_TEAM_ID: dev.teamId, WALLET_SIGNER_CERT: broken, WALLET_SIGNER_KEY: dev.signerKey, WALLET_WWDR_CERT: dev.wwdrCert, DATA_DIR: dataDir };
    expect(() => resolveWalletSetup(loadConfig(env))).toThrow(/WALLET_SIGNER_KEY does not belong to WALLET_SIGNER_CERT/);
    writeFileSync(broken, 'garbage');
    expect(() => resolveWalletSetup(loadConfig(env))).toThrow(/not a PEM X.509 certificate/);
  });
});

describe('wallet tokens', () => {
  it('links carry an HMAC that only the secret makes; auth tokens are derived, long, and checked by hash', () => {
    const t = createWalletTokens('s'.repeat(40));
    const link = t.link('70123456789012');
    expect(t.parseLink(link)).toBe('70123456789012');
    expect(createWalletTokens('z'.repeat(40)).parseLink(link)).toBeNull();
    expect(t.parseLink(link.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')))).toBeNull();
    const salt = t.newSalt();
    const token = t.authToken('70123456789012', salt);
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(t.authToken('70123456789012', salt)).toBe(token);
    expect(t.authToken('70123456789012', t.newSalt())).not.toBe(token);
    expect(tokenMatches(token, hashToken(token))).toBe(true);
    expect(tokenMatches(`${token}x`, hashToken(token))).toBe(false);
  });
});
