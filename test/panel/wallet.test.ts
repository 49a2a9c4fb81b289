import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngSize } from '../../core/wallet/pass-image.js';
import { newMember } from '../helpers/core.js';
import { readZip } from '../wallet/zip.js';
import { client, startPanelApp, type PanelApp } from './panel.fixture.js';

let t: PanelApp;
beforeAll(async () => {
  t = await startPanelApp({ wallet: true });
});
afterAll(async () => {
  await t.close();
});

/** A picture of one colour (sharp only draws it for the test). */
const picture = (width: number, height: number): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: { r: 30, g: 120, b: 60 } } }).jpeg().toBuffer();

/** The design form as a browser sends it: the CSRF token first, both file inputs (an empty one without bytes). */
function form(csrf: string, fields: Record<string, string>, strip: Buffer | null): { payload: Buffer; headers: Record<string, string> } {
  const b = '----panelwallettest';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries({ _csrf: csrf, backgroundColor: '#1b2a4a', foregroundColor: '#ffffff', labelColor: '#c9d6ff', locations: '', ...fields })) {
    parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="logo"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n`));
  parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="strip"; filename="${strip ? 'strip.jpg' : ''}"\r\nContent-Type: ${strip ? 'image/jpeg' : 'application/octet-stream'}\r\n\r\n`));
  if (strip) parts.push(strip);
  parts.push(Buffer.from(`\r\n--${b}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${b}` } };
}

describe('card design: the strip image', () => {
  it('uploads with the design, shows in the preview, rides into the passes, and can be removed', async () => {
    const marketer = await t.user('marketer');
    const c = client(t.app);
    await c.login(marketer.email);
    const page = await c.get('/admin/wallet?t=default');
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/<label for="f-strip">Картинка-полоса \(PNG или JPEG\)<\/label>/);
    expect(page.body).toContain('accept="image/png,image/jpeg"');
    expect(page.body).not.toContain('name="stripRemove"');
    const publish = (fields: Record<string, string>, strip: Buffer | null) =>
      t.app.inject({ method: 'POST', url: '/admin/wallet/default', cookies: Object.fromEntries(c.jar), ...form(c.csrf, fields, strip) });

    // Too small for the strip: told next to the field, nothing published.
    const small = await publish({}, await picture(200, 100));
    expect(small.statusCode).toBe(400);
    expect(small.body).toMatch(/id="f-strip-err"[^>]*>Картинка 200×100 пикселей, а нужна хотя бы 375×123\./);
    expect((await t.wallet!.templates.get('default')).version).toBe(0);

    const ok = await publish({}, await picture(1200, 500));
    expect(ok.statusCode).toBe(303);
    const strip = (await t.wallet!.templates.get('default')).design.strip;
    expect(strip).toMatch(/^[a-f0-9]{64}$/);
    const shown = await c.get('/admin/wallet?t=default');
    expect(shown.body).toContain(`background-image:url(/admin/wallet/strips/${strip}.png)`);
    expect(shown.body).toMatch(/<label><input type="checkbox" name="stripRemove" value="1"[^>]*> Убрать картинку-полосу<\/label>/);
    const img = await c.get(`/admin/wallet/strips/${strip}.png`);
    expect(img.headers['content-type']).toBe('image/png');
    expect(pngSize(img.rawPayload)).toEqual({ width: 750, height: 246 });
    expect((await c.get(`/admin/wallet/strips/${'0'.repeat(64)}.png`)).statusCode).toBe(404);

    const { card } = await newMember(t.core);
    const files = readZip((await t.wallet!.passFile(card._id)).bytes);
    expect(pngSize(files['strip@3x.png']!)).toEqual({ width: 1125, height: 369 });

    // Publishing again without a new file keeps it; ticking "remove" takes it away.
    expect((await publish({ backgroundColor: '#000000' }, null)).statusCode).toBe(303);
    expect((await t.wallet!.templates.get('default')).design.strip).toBe(strip);
    expect((await publish({ stripRemove: '1' }, null)).statusCode).toBe(303);
    expect((await t.wallet!.templates.get('default')).design.strip).toBeUndefined();
    expect(Object.keys(readZip((await t.wallet!.passFile(card._id)).bytes)).some((n) => n.startsWith('strip'))).toBe(false);
  });

  it('is refused to a role without the card design (support)', async () => {
    const support = await t.user('support');
    const c = client(t.app);
    await c.login(support.email);
    expect((await c.get(`/admin/wallet/strips/${'0'.repeat(64)}.png`)).statusCode).toBe(403);
  });
});
