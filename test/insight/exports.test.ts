import { buffer } from 'node:stream/consumers';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createI18n } from '../../core/i18n/i18n.js';
import type { Exports } from '../../core/exports/export.service.js';
import { testCore, type TestCore } from '../helpers/core.js';

let t: TestCore;
let exp: Exports;
const CSV = '\uFEFFТелефон;ФИО;Баллы;Сумма покупок;Количество покупок\r\n+79990001101;Анна;120;1 500,00;2\r\n89990001102;=HYPERLINK("http://x");;;\r\n';

beforeAll(async () => {
  t = await testCore({ start: new Date('2026-03-10T10:00:00Z') });
  async function* body() {
    yield Buffer.from(CSV);
  }
  const id = await t.core.insight.imports.create({ body: body(), contentType: 'text/csv', dryRun: false, maxBytes: 1e6 });
  expect((await t.core.insight.imports.run(id)).created).toBe(2);
  const { store } = await t.core.stores.create('Касса 1');
  await t.core.purchases.purchase({ storeId: store.id, receiptId: 'R-1', phone: '+79990001101', totalKopecks: 250_000 });
  await t.core.insight.segments.rebuild();
  exp = t.core.insight.exports(await createI18n());
});
afterAll(async () => t.close());

describe('exports', () => {
  it('members as CSV: BOM, Cyrillic, formulas defused', async () => {
    const { stream, fileName } = await exp.members({ format: 'csv', lang: 'ru' });
    const text = (await buffer(stream)).toString('utf8');
    expect(fileName).toBe('members-2026-03-10.csv');
    expect(text.startsWith('\uFEFFID участника;Телефон;Имя;')).toBe(true);
    const lines = text.trim().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines.some((l) => l.includes(`;"'=HYPERLINK(""http://x"")";`))).toBe(true);
    expect(lines.find((l) => l.includes('Анна'))).toContain(';1500;');
  });

  it('members as XLSX, opened and read back', async () => {
    const { stream } = await exp.members({ format: 'xlsx', lang: 'en' });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await buffer(stream)) as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('Members')!;
    expect(ws.getRow(1).getCell(3).value).toBe('Name');
    const rows = [2, 3].map((i) => ws.getRow(i));
    const anna = rows.find((r) => r.getCell(3).value === 'Анна')!;
    expect(anna.getCell(2).value).toBe('+79990001101');
    expect(anna.getCell(9).value).toBe(120);
    expect(anna.getCell(11).value).toBe(1500);
    // A typed text cell: shown as written, never run as a formula.
    const other = rows.find((r) => r.getCell(2).value === '+79990001102')!;
    expect(other.getCell(3).value).toBe('=HYPERLINK("http://x")');
    expect(other.getCell(3).type).toBe(ExcelJS.ValueType.String);
  });

  it('members of a segment only', async () => {
    const seg = await t.core.insight.segments.create({ name: 'С балансом', rules: { op: 'and', rules: [{ field: 'balance', op: 'gt', value: 0 }] } });
    const text = (await buffer((await exp.members({ format: 'csv', segmentId: seg.id, lang: 'ru' })).stream)).toString('utf8');
    expect(text.trim().split('\r\n')).toHaveLength(2);
    await expect(exp.members({ format: 'csv', segmentId: 'nope', lang: 'ru' })).rejects.toMatchObject({ code: 'segment_not_found' });
  });

  it('ledger entries and purchases of a period', async () => {
    const ledger = (await buffer(exp.ledger({ format: 'csv', from: '2026-03-10', to: '2026-03-10', lang: 'en' }).stream)).toString('utf8').trim().split('\r\n');
    // The opening balance and the purchase (the member got no welcome bonus: imported).
    expect(ledger.slice(1).map((l) => l.split(';')[3]).sort()).toEqual(['import', 'purchase']);
    expect((await buffer(exp.ledger({ format: 'csv', from: '2026-03-11', to: '2026-03-12', lang: 'en' }).stream)).toString('utf8').trim().split('\r\n')).toHaveLength(1);
    const { stream } = exp.purchases({ format: 'xlsx', from: '2026-03-01', to: '2026-03-31', lang: 'ru' });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await buffer(stream)) as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('Покупки')!;
    expect(ws.getRow(2).getCell(4).value).toBe('R-1');
    expect(ws.getRow(2).getCell(7).value).toBe(2500);
  });
});
