import { inflateSync } from 'node:zlib';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api.js';

const utf16 = (text: string): string => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]).toString('latin1');

/** The store poster over the admin API: a PDF with the store's join link as its QR code and as a link. */
describe('store poster', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ joinPage: { publicUrl: 'https://loyalty.example' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('is an A4 PDF titled with the store, linking to /join?store=<id>, with the QR code of that link', async () => {
    const s = await t.call('POST', '/api/v1/admin/stores', { token: t.adminToken, body: { name: 'Кофейня «Зерно»' } });
    const id = s.json<{ id: string }>().id;
    expect((await t.call('GET', `/api/v1/admin/stores/${id}/poster.pdf`)).statusCode).toBe(401);
    const r = await t.call('GET', `/api/v1/admin/stores/${id}/poster.pdf`, { token: t.adminToken });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/pdf');
    const pdf = r.rawPayload.toString('latin1');
    expect(pdf.startsWith('%PDF-')).toBe(true);
    expect(pdf).toContain('/MediaBox [0 0 595.28 841.89]');
    const url = `https://loyalty.example/join?store=${id}`;
    expect(pdf).toContain(`/URI (${url})`);
    // The title, a UTF-16BE string (with its byte order mark) in the document's info.
    expect(pdf).toMatch(/\/Title \d+ 0 R/);
    expect(pdf).toContain(utf16('Плакат: Кофейня «Зерно»'));

    // The QR code is the join link's: one filled square per dark module, where the module is.
    const modules = QRCode.create(url, { errorCorrectionLevel: 'M' }).modules;
    const streams = [...pdf.matchAll(/\/Length (\d+)[^]*?stream\r?\n/g)].map((m) => {
      const raw = r.rawPayload.subarray(m.index + m[0].length, m.index + m[0].length + Number(m[1]));
      try {
        return inflateSync(raw).toString('latin1');
      } catch {
        return raw.toString('latin1');
      }
    });
    const rects = streams.flatMap((c) => [...c.matchAll(/([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re/g)].map((m) => m.slice(1, 5).map(Number) as [number, number, number, number]));
    const squares = rects.filter(([, , w, h]) => Math.abs(w - 300 / modules.size) < 0.01 && Math.abs(h - w) < 0.01);
    const x0 = Math.min(...squares.map((q) => q[0]));
    const y0 = Math.min(...squares.map((q) => q[1]));
    const cell = 300 / modules.size;
    const drawn = new Set(squares.map(([x, y]) => `${Math.round((y - y0) / cell)},${Math.round((x - x0) / cell)}`));
    const dark = new Set<string>();
    for (let row = 0; row < modules.size; row++) for (let col = 0; col < modules.size; col++) if (modules.get(row, col)) dark.add(`${row},${col}`);
    expect(dark.size).toBeGreaterThan(100);
    expect(drawn).toEqual(dark);

    const en = await t.call('GET', `/api/v1/admin/stores/${id}/poster.pdf?lang=en`, { token: t.adminToken });
    expect(en.statusCode).toBe(200);
    expect(en.rawPayload.toString('latin1')).toContain(utf16('Poster: Кофейня «Зерно»'));
  });

  it('answers 404 store_not_found for an unknown store and 400 for a bad language', async () => {
    const r = await t.call('GET', '/api/v1/admin/stores/000000000000000000000000/poster.pdf', { token: t.adminToken });
    expect({ status: r.statusCode, code: r.json<{ error: { code: string } }>().error.code }).toEqual({ status: 404, code: 'store_not_found' });
    expect((await t.call('GET', '/api/v1/admin/stores/000000000000000000000000/poster.pdf?lang=de', { token: t.adminToken })).statusCode).toBe(400);
  });
});
