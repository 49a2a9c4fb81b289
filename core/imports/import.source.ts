/** A cell as the file gave it: CSV cells are text; XLSX cells may be numbers, dates, booleans. */
export type CellValue = string | number | Date | boolean | null;

/** One record of the file: `row` is the row number a spreadsheet shows (the header is row 1). */
export interface SourceRow {
  row: number;
  cells: CellValue[];
}

export const IMPORT_FORMATS = ['csv', 'xlsx'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** The file as a whole is unreadable: the import fails with this code and nothing is loaded. */
export class ImportFileError extends Error {
  constructor(
    readonly reason: 'encoding' | 'malformed_csv' | 'malformed_xlsx' | 'no_header' | 'empty',
    message: string,
  ) {
    super(message);
    this.name = 'ImportFileError';
  }
}

/** XLSX files are ZIP archives: they start with 'PK\x03\x04'. */
export function sniffFormat(head: Uint8Array, contentType: string | undefined): ImportFormat {
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'xlsx';
  if (contentType?.includes('spreadsheetml')) return 'xlsx';
  return 'csv';
}
