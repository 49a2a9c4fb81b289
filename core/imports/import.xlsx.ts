import type { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { ImportFileError, type CellValue, type SourceRow } from './import.source.js';

/** A cell of exceljs as plain data: rich text and hyperlinks become their text, formulas their result. */
function plain(v: unknown): CellValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v instanceof Date) return v;
  if (typeof v === 'object') {
    const o = v as { richText?: { text: string }[]; text?: unknown; result?: unknown; error?: unknown };
    if (Array.isArray(o.richText)) return o.richText.map((r) => r.text).join('');
    if ('result' in o) return plain(o.result);
    if (typeof o.text === 'string') return o.text;
    if ('error' in o) return null;
  }
  return null;
}

/**
 * Rows of the first worksheet, read with exceljs's streaming reader: the workbook is never
 * loaded whole. Styles are read so date-formatted cells arrive as dates.
 */
export async function* xlsxRows(input: Readable): AsyncGenerator<SourceRow> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, { worksheets: 'emit', sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', entries: 'ignore' });
  let any = false;
  try {
    for await (const sheet of reader) {
      for await (const r of sheet) {
        // row.values is 1-based (index 0 is empty).
        const values = (r.values as unknown[]).slice(1).map(plain);
        any = true;
        yield { row: r.number, cells: values };
      }
      // The first worksheet is the table; any others (notes, lists) are not read.
      break;
    }
  } catch (err) {
    if (err instanceof ImportFileError) throw err;
    throw new ImportFileError('malformed_xlsx', `the XLSX file cannot be read: ${(err as Error).message}`);
  }
  if (!any) throw new ImportFileError('empty', 'the worksheet has no rows');
}
