import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../core/wallet/wallet-tokens.js';
import { readZip } from './zip.js';
import { PUBLIC_URL, startWalletFixture, type WalletFixture } from './wallet.fixture.js';

const run = promisify(execFile);
let f: WalletFixture;
let dir: string;

beforeAll(async () => {
  f = await startWalletFixture();
  dir = mkdtempSync(join(tmpdir(), 'pkpass-'));
});
afterAll(async () => {
  await f.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `openssl cms -verify` of a detached signature over manifest.json, trusting only the test CA. */
async function opensslVerifies(signature: Buffer, manifest: Buffer): Promise<boolean> {
  const sig = join(dir, `sig-${Math.random()}`);
  const man = join(dir, `man-${Math.random()}`);
  writeFileSync(sig, signature);
  writeFileSync(man, manifest);
  try {
    await run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', man, '-CAfile', f.certs.files.caCert, '-out', '/dev/null']);
    return true;
  } catch {
    return false;
  }
}

function manifestMatches(files: Record<string, Buffer>): string[] {
  const manifest = JSON.parse(files['manifest.json']!.toString()) as Record<string, string>;
  const bad: string[] = [];
  for (const [name, data] of Object.entries(files)) {
    if (name === 'manifest.json' || name === 'signature') continue;
    if (manifest[name] !== createHash('sha1').update(data).digest('hex')) bad.push(name);
  }
  for (const name of Object.keys(manifest)) if (!files[name]) bad.push(name);
  return bad;
}

describe('a signed pass', () => {
  it('verifies with openssl against the CA, every file matches the manifest, and tampering is caught', async () => {
    const { number } = await f.cardWithPass();
    const { bytes } = await f.wallet.passFile(number);
    const files = readZip(bytes);
    expect(Object.keys(files).sort()).toEqual(expect.arrayContaining(['pass.json', 'manifest.json', 'signature', 'icon.png', 'logo.png', 'ru.lproj/pass.strings', 'en.lproj/pass.strings']));
    expect(manifestMatches(files)).toEqual([]);
    expect(await opensslVerifies(files.signature!, files['manifest.json']!)).toBe(true);

    // A changed file no longer matches its manifest hash…
    const tampered = { ...files, 'pass.json': Buffer.from(files['pass.json']!.toString().replace(/"balance"/, '"balanse"')) };
    expect(manifestMatches(tampered)).toEqual(['pass.json']);
    // …and a manifest edited to match it no longer matches the signature.
    const manifest = JSON.parse(files['manifest.json']!.toString()) as Record<string, string>;
    manifest['pass.json'] = createHash('sha1').update(tampered['pass.json']).digest('hex');
    expect(await opensslVerifies(files.signature!, Buffer.from(JSON.stringify(manifest)))).toBe(false);
  });

  it('is a storeCard with the balance in the header, level, name, number, QR code, back fields and the web service', async () => {
    const { number, token } = await f.cardWithPass();
    await f.core.settings.update({ rulesUrl: 'https://shop.example/rules' });
    await f.wallet.templates.put('default', {
      phones: [{ label: 'Поддержка', phone: '+7 800 555-35-35' }],
      links: [{ label: 'Сайт', url: 'https://shop.example' }],
      locations: Array.from({ length: 10 }, (_, i) => ({ latitude: 55.75 + i / 100, longitude: 37.61, relevantText: `Магазин №${i + 1} рядом` })),
    });
    const { bytes } = await f.wallet.passFile(number);
    const files = readZip(bytes);
    const pass = JSON.parse(files['pass.json']!.toString());
    expect(pass).toMatchObject({
      formatVersion: 1,
      passTypeIdentifier: f.certs.signer.passTypeId,
      teamIdentifier: f.certs.signer.teamId,
      serialNumber: number,
      organizationName: 'Test shop',
      webServiceURL: `${PUBLIC_URL}/passkit`,
      barcodes: [{ format: 'PKBarcodeFormatQR', message: number, altText: expect.stringMatching(/^\d{4} \d{4}/) }],
    });
    expect(pass.authenticationToken.length).toBeGreaterThanOrEqual(16);
    expect(pass.storeCard.headerFields).toEqual([expect.objectContaining({ key: 'balance', value: 1000, changeMessage: 'balance_change' })]);
    expect(pass.storeCard.primaryFields[0]).toMatchObject({ key: 'level', value: 'level_name', changeMessage: 'level_change' });
    expect(pass.storeCard.secondaryFields[0]).toMatchObject({ key: 'member', value: 'Анна' });
    const back = pass.storeCard.backFields as { key: string; value: unknown; changeMessage?: string }[];
    expect(back.map((b) => b.key)).toEqual(['offer', 'rules', 'phone_0', 'link_0']);
    expect(back[0]).toMatchObject({ value: 'offer_none', changeMessage: '%@' });
    expect(back[1]).toMatchObject({ value: 'https://shop.example/rules' });
    expect(pass.locations).toHaveLength(10);
    expect(pass.locations[9]).toMatchObject({ relevantText: 'Магазин №10 рядом' });
    const ru = files['ru.lproj/pass.strings']!.toString();
    expect(ru).toContain('"balance_change" = "Баланс: %@";');
    expect(ru).toContain('"level_name" = "Базовый";');
    expect(files['en.lproj/pass.strings']!.toString()).toContain('"balance_change" = "Balance: %@";');

    // The token is in the pass, but only its hash is stored.
    const stored = await f.conn.collection('wallet_passes').findOne({ _id: number as never });
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(stored?.tokenHash).toBe(hashToken(token));
    const cached = await f.conn.collection('wallet_pass_cache').findOne({ _id: number as never });
    expect(Buffer.from(cached?.data.buffer).includes(Buffer.from(token))).toBe(false);
  });

  it('never signs the same state twice, and signs again when the state changes', async () => {
    const { number } = await f.cardWithPass();
    const before = f.generator.signed;
    await Promise.all([f.wallet.passFile(number), f.wallet.passFile(number), f.wallet.passFile(number)]);
    const again = await f.wallet.passFile(number);
    expect(f.generator.signed).toBe(before);
    await f.purchase(number, 10_000);
    const after = await f.wallet.passFile(number);
    expect(f.generator.signed).toBe(before + 1);
    expect(after.bytes.equals(again.bytes)).toBe(false);
    expect(JSON.parse(readZip(after.bytes)['pass.json']!.toString()).storeCard.headerFields[0].value).toBe(1003);
  });
});
