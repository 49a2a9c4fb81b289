import { ImportFileError, type SourceRow } from './import.source.js';

/**
 * Streaming CSV for the files shops export: ',' or ';' (Excel in a Russian locale writes ';'),
 * UTF-8 with or without BOM or Windows-1251, quotes per RFC 4180, CRLF or LF. Reads chunk by
 * chunk and yields record by record: a 100,000-row file is never held whole.
 */

export type TextEncoding = 'utf-8' | 'windows-1251';

/** How many bytes decide the encoding (UTF-8 unless they are not valid UTF-8). */
const SNIFF_BYTES = 64 * 1024;

export function detectEncoding(head: Uint8Array, declared?: string): TextEncoding {
  const d = declared?.toLowerCase();
  if (d === 'windows-1251' || d === 'cp1251') return 'windows-1251';
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  try {
    // stream: true — a multi-byte character cut at the end of the sample is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, SNIFF_BYTES), { stream: true });
    return 'utf-8';
  } catch {
    return 'windows-1251';
  }
}

type Decoder = InstanceType<typeof TextDecoder>;

/** Decodes a byte stream to text chunks, choosing the encoding from the first bytes. */
export async function* decodeText(bytes: AsyncIterable<Uint8Array>, declared?: string): AsyncGenerator<string> {
  let decoder: Decoder | null = null;
  let pending: Uint8Array[] = [];
  let pendingLength = 0;
  const start = (head: Uint8Array): Decoder => {
    const enc = detectEncoding(head, declared);
    // The BOM is dropped by TextDecoder itself (ignoreBOM: false).
    return new TextDecoder(enc, { fatal: enc === 'utf-8' });
  };
  const decode = (d: Decoder, chunk: Uint8Array, last: boolean): string => {
    try {
      return d.decode(chunk, { stream: !last });
    } catch {
      throw new ImportFileError('encoding', 'the file is neither UTF-8 nor Windows-1251 text');
    }
  };
  for await (const chunk of bytes) {
    if (!decoder) {
      pending.push(chunk);
      pendingLength += chunk.length;
      if (pendingLength < SNIFF_BYTES) continue;
      const head = Buffer.concat(pending);
      pending = [];
      decoder = start(head);
      yield decode(decoder, head, false);
      continue;
    }
    yield decode(decoder, chunk, false);
  }
  if (!decoder) {
    const head = Buffer.concat(pending);
    decoder = start(head);
    yield decode(decoder, head, true);
    return;
  }
  yield decode(decoder, new Uint8Array(0), true);
}

/** ';', ',' or a tab: whichever appears most in the header line outside quotes. */
export function detectDelimiter(firstLine: string): string {
  let inQuotes = false;
  const counts = new Map<string, number>([[';', 0], [',', 0], ['\t', 0]]);
  for (const ch of firstLine) {
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && counts.has(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ',';
  let max = 0;
  for (const [d, n] of counts) {
    if (n > max) {
      best = d;
      max = n;
    }
  }
  return best;
}

/** Records of CSV text. Row numbers count records (the header is row 1), as a spreadsheet shows them. */
export async function* csvRows(text: AsyncIterable<string>, maxFieldLength = 10_000): AsyncGenerator<SourceRow> {
  let delimiter: string | null = null;
  let head = '';
  let field = '';
  let record: string[] = [];
  let inQuotes = false;
  // A quote inside quotes: the next character tells a doubled quote ("") from the closing one.
  let maybeClose = false;
  let quoteClosed = false;
  let afterCr = false;
  let row = 1;
  let any = false;

  function* feed(s: string, d: string): Generator<SourceRow> {
    for (const ch of s) {
      if (afterCr) {
        afterCr = false;
        if (ch === '\n') continue;
      }
      if (maybeClose) {
        maybeClose = false;
        if (ch === '"') {
          field += '"';
          continue;
        }
        inQuotes = false;
        quoteClosed = true;
      }
      if (inQuotes) {
        if (ch === '"') maybeClose = true;
        else field += ch;
      } else if (ch === '"' && field === '' && !quoteClosed) {
        inQuotes = true;
      } else if (ch === d) {
        record.push(field);
        field = '';
        quoteClosed = false;
      } else if (ch === '\n' || ch === '\r') {
        record.push(field);
        field = '';
        quoteClosed = false;
        if (ch === '\r') afterCr = true;
        yield { row, cells: record };
        any = true;
        row++;
        record = [];
      } else {
        field += ch;
      }
      if (field.length > maxFieldLength) throw new ImportFileError('malformed_csv', `row ${row}: a field is longer than ${maxFieldLength} characters (an unclosed quote?)`);
    }
  }

  for await (const chunk of text) {
    if (delimiter === null) {
      head += chunk;
      const nl = head.search(/[\r\n]/);
      if (nl < 0 && head.length < 1_000_000) continue;
      delimiter = detectDelimiter(nl < 0 ? head : head.slice(0, nl));
      yield* feed(head, delimiter);
      head = '';
      continue;
    }
    yield* feed(chunk, delimiter);
  }
  if (delimiter === null) {
    delimiter = detectDelimiter(head);
    yield* feed(head, delimiter);
  }
  if (maybeClose) {
    inQuotes = false;
    quoteClosed = true;
  }
  if (inQuotes) throw new ImportFileError('malformed_csv', `row ${row}: a quoted field is not closed`);
  if (field !== '' || record.length > 0 || quoteClosed) {
    record.push(field);
    yield { row, cells: record };
    any = true;
  }
  if (!any) throw new ImportFileError('empty', 'the file has no rows');
}
