import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngSize } from '../../core/wallet/pass-image.js';
import { discPng } from './png.js';
import { readZip } from './zip.js';
import { startWalletFixture, type WalletFixture } from './wallet.fixture.js';

let f: WalletFixture;
beforeAll(async () => {
  f = await startWalletFixture({ debounceMs: 100, pushRate: 50 });
});
afterAll(async () => {
  await f.close();
});

const admin = (): Record<string, string> => ({ authorization: `Bearer ${f.adminToken}` });
const STRIPS = { 'strip.png': [375, 123], 'strip@2x.png': [750, 246], 'strip@3x.png': [1125, 369] } as const;

/** A photo-like picture: left half red, right half blue, of any size (sharp is only the test's drawing tool here). */
function halves(width: number, height: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(x < width / 2 ? [220, 0, 0] : [0, 0, 220], (y * width + x) * 3);
  const img = sharp(raw, { raw: { width, height, channels: 3 } });
  return (format === 'png' ? img.png() : img.jpeg({ quality: 90 })).toBuffer();
}

/** The colour at (x, y) of a PNG. */
async function pixel(png: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i]!, data[i + 1]!, data[i + 2]!];
}

const putStrip = (template: string, body: Buffer, type = 'image/jpeg') =>
  f.app.inject({ method: 'PUT', url: `/api/v1/admin/wallet/templates/${template}/strip`, headers: { ...admin(), 'content-type': type }, payload: body });

describe('the strip image of a template', () => {
  it('a design with a strip → the signed pass carries strip.png, @2x and @3x at the sizes Wallet wants, cropped around the centre', async () => {
    const { number } = await f.cardWithPass();
    const before = readZip((await f.wallet.passFile(number)).bytes);
    expect(Object.keys(before).filter((n) => n.startsWith('strip'))).toEqual([]);
    expect((await f.wallet.passes.current(number))?.state).not.toHaveProperty('strip');

    // 4:1, wider than the strip (about 3:1): its sides are cut, the red half stays left and the blue right.
    const r = await f.wallet.templates.setStrip('default', await halves(1600, 400, 'jpeg'));
    expect(r.design.strip).toMatch(/^[a-f0-9]{64}$/);
    const files = readZip((await f.wallet.passFile(number)).bytes);
    for (const [name, [width, height]] of Object.entries(STRIPS)) {
      expect([name, pngSize(files[name]!)]).toEqual([name, { width, height }]);
      expect(await pixel(files[name]!, 2, 2)).toEqual([220, 0, 0]);
      expect(await pixel(files[name]!, width - 3, height - 3)).toEqual([0, 0, 220]);
    }
    // Signed like every other file of the pass.
    const manifest = JSON.parse(files['manifest.json']!.toString()) as Record<string, string>;
    expect(Object.keys(manifest)).toEqual(expect.arrayContaining(Object.keys(STRIPS)));
    expect((await f.wallet.passes.current(number))?.state?.strip).toBe(r.design.strip);

    // Removed: the next pass has none again.
    expect((await f.wallet.templates.removeStrip('default')).design.strip).toBeUndefined();
    expect(Object.keys(readZip((await f.wallet.passFile(number)).bytes)).filter((n) => n.startsWith('strip'))).toEqual([]);
  });

  it('publishing it updates the passes already on phones: the holder is pushed and fetches the pass with the strip', async () => {
    const card = await f.cardWithPass();
    const apnsToken = randomBytes(32).toString('hex');
    expect(await f.register(`dev${randomBytes(6).toString('hex')}`, card.number, card.token, apnsToken)).toBe(201);
    await f.settle();
    const since = Date.now();
    const res = await putStrip('default', await halves(1125, 369, 'png'), 'image/png');
    expect(res.statusCode).toBe(200);
    expect(res.json().passes).toBeGreaterThanOrEqual(1);
    await f.apns.waitForPushes(1, (p) => p.status === 200 && p.at >= since && p.token === apnsToken, 30_000);
    const r = await f.call('GET', `/passkit/v1/passes/${f.certs.signer.passTypeId}/${card.number}`, { headers: { authorization: `ApplePass ${card.token}` } });
    expect(r.statusCode).toBe(200);
    expect(pngSize(readZip(r.rawPayload)['strip@3x.png']!)).toEqual({ width: 1125, height: 369 });
    await f.wallet.templates.removeStrip('default');
  });

  it('admin API: upload a PNG or JPEG, read it back at each scale, keep it through a design PUT, remove it; bad images are 400', async () => {
    const up = await putStrip('gold', await halves(800, 600, 'jpeg'));
    expect(up.statusCode).toBe(200);
    const id = up.json().design.strip as string;
    expect(up.json()).toMatchObject({ id: 'gold', version: 1 });
    for (const [scale, [width, height]] of [['1', STRIPS['strip.png']], ['2', STRIPS['strip@2x.png']], ['3', STRIPS['strip@3x.png']]] as const) {
      const img = await f.call('GET', `/api/v1/admin/wallet/templates/gold/strip.png?scale=${scale}`, { headers: admin() });
      expect(img.headers['content-type']).toBe('image/png');
      expect(pngSize(img.rawPayload)).toEqual({ width, height });
    }
    // The design as GET shows it can be PUT back (colours changed, the strip kept); an unknown strip id is refused.
    const design = (await f.call('GET', '/api/v1/admin/wallet/templates/gold', { headers: admin() })).json().design;
    const kept = await f.call('PUT', '/api/v1/admin/wallet/templates/gold', { headers: admin(), body: { ...design, backgroundColor: 'rgb(10, 20, 30)' } });
    expect(kept.json().design).toMatchObject({ strip: id, backgroundColor: 'rgb(10, 20, 30)' });
    const unknown = await f.call('PUT', '/api/v1/admin/wallet/templates/gold', { headers: admin(), body: { strip: 'a'.repeat(64) } });
    expect([unknown.statusCode, unknown.json().error.details.field]).toEqual([400, 'strip']);

    const bad = async (body: Buffer, type: string) => {
      const r = await putStrip('gold', body, type);
      return [r.statusCode, r.json().error.code, r.json().error.details?.reason];
    };
    expect(await bad(Buffer.from('GIF89a not a png'), 'image/png')).toEqual([400, 'validation_failed', 'strip_format']);
    expect(await bad(discPng(100, [0, 0, 0, 255]), 'image/png')).toEqual([400, 'validation_failed', 'strip_too_small']);
    expect(await bad(Buffer.concat([(await halves(800, 600, 'jpeg')).subarray(0, 400)]), 'image/jpeg')).toEqual([400, 'validation_failed', 'strip_unreadable']);
    expect((await putStrip('gold', Buffer.from('x'), 'image/gif')).statusCode).toBe(415);
    expect((await putStrip('nosuchlevel', await halves(800, 600, 'jpeg'))).statusCode).toBe(400);
    expect((await f.app.inject({ method: 'PUT', url: '/api/v1/admin/wallet/templates/gold/strip', headers: { 'content-type': 'image/png' }, payload: Buffer.from('x') })).statusCode).toBe(401);
    // None of that changed the design.
    expect((await f.wallet.templates.get('gold')).design.strip).toBe(id);

    const del = await f.call('DELETE', '/api/v1/admin/wallet/templates/gold/strip', { headers: admin() });
    expect(del.statusCode).toBe(200);
    expect(del.json().design.strip).toBeUndefined();
    expect(del.json().design.backgroundColor).toBe('rgb(10, 20, 30)');
    expect((await f.call('GET', '/api/v1/admin/wallet/templates/gold/strip.png', { headers: admin() })).statusCode).toBe(404);
  });
});
