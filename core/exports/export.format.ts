import { PassThrough, Readable } from 'node:stream';
import ExcelJS from 'exceljs';

export const EXPORT_FORMATS = ['csv', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type ExportValue = string | number | Date | boolean | null;

export interface ExportColumn {
  key: string;
  /** The header shown (already localized). */
  label: string;
  width?: number;
}

/**
 * CSV text a spreadsheet would run as a formula gets a leading apostrophe: the rule of the
 * contest CSV (core/contests/contest.views.ts). Numbers stay numbers: a negative amount is
 * data, not a formula. XLSX needs no such guard: its cells are typed, and a text cell is
 * never evaluated, so '=…' and '+7…' stay exactly what they were.
 */
export function spreadsheetSafe(v: string): string {
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

function csvField(v: ExportValue): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  const s = spreadsheetSafe(v instanceof Date ? v.toISOString() : v);
  return /[",;\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * CSV as a stream: UTF-8 with a BOM (Excel then keeps Cyrillic), ';' between fields (what
 * Excel expects in a Russian locale), CRLF. Rows are pulled one page at a time.
 */
export function csvStream(columns: readonly ExportColumn[], rows: AsyncIterable<ExportValue[]>): Readable {
  return Readable.from(
    (async function* () {
      yield '\uFEFF' + columns.map((c) => csvField(c.label)).join(';') + '\r\n';
      let buf = '';
      for await (const r of rows) {
        buf += r.map(csvField).join(';') + '\r\n';
        if (buf.length > 64 * 1024) {
          yield buf;
          buf = '';
        }
      }
      if (buf) yield buf;
    })(),
    { objectMode: false },
  );
}

/**
 * XLSX through exceljs's streaming writer: each row is committed (written out and dropped)
 * as it comes, shared strings off, so memory stays flat however many rows there are.
 */
export function xlsxStream(sheetName: string, columns: readonly ExportColumn[], rows: AsyncIterable<ExportValue[]>): Readable {
  const out = new PassThrough();
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const ws = wb.addWorksheet(sheetName);
  ws.columns = columns.map((c) => ({ header: c.label, key: c.key, width: c.width ?? 16 }));
  void (async () => {
    try {
      for await (const r of rows) ws.addRow(r).commit();
      ws.commit();
      await wb.commit();
    } catch (err) {
      out.destroy(err as Error);
    }
  })();
  return out;
}

export function exportStream(format: ExportFormat, sheetName: string, columns: readonly ExportColumn[], rows: AsyncIterable<ExportValue[]>): Readable {
  return format === 'xlsx' ? xlsxStream(sheetName, columns, rows) : csvStream(columns, rows);
}

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};
