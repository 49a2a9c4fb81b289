import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCore, type TestCore } from '../helpers/core.js';

let t: TestCore;
beforeAll(async () => {
  t = await testCore({ start: new Date('2026-03-01T10:00:00Z') });
});
afterAll(async () => t.close());

describe('import of an XLSX file', () => {
  it('reads typed cells: numbers as phones and points, dates as dates, rich text as text', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('База');
    ws.addRow(['Card number', 'Phone', 'Name', 'Points', 'Last purchase', 'Total spent']);
    ws.addRow([null, 79990003301, { richText: [{ text: 'Ольга ' }, { text: 'Павлова' }] }, 250, new Date('2025-12-24T00:00:00Z'), 1234.5]);
    ws.addRow([null, '+7 999 000-33-02', 'Bad date', 10, 'вчера', null]);
    wb.addWorksheet('Notes').addRow(['not read']);
    const body = Buffer.from(await wb.xlsx.writeBuffer());
    async function* bytes() {
      yield body;
    }
    const id = await t.core.insight.imports.create({ body: bytes(), contentType: 'application/octet-stream', dryRun: false, maxBytes: 1e6 });
    const r = await t.core.insight.imports.run(id);
    expect(r).toMatchObject({ format: 'xlsx', status: 'done', rows: 2, created: 1, failed: 1, errors: [{ row: 3, column: 'lastPurchase', reason: 'date_invalid' }] });
    const m = await t.core.members.findByPhone('+79990003301');
    expect(m?.name).toBe('Ольга Павлова');
    expect(m?.stats).toMatchObject({ spentKopecks: 123_450, balance: 250 });
    expect(m?.stats?.lastPurchaseAt?.toISOString()).toBe('2025-12-24T00:00:00.000Z');
    expect((await t.core.cards.byNumber(m!.cardNumber!))?.balance).toBe(250);
  });
});
