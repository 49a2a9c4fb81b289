import { Schema, type Connection, type Model } from 'mongoose';
import type { ImportFormat } from './import.source.js';
import type { ImportRow, RowError } from './import.row.js';

export const IMPORT_STATUSES = ['queued', 'running', 'done', 'failed'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];
export type ImportPhase = 'upload' | 'read' | 'apply' | 'finished';
export const ROW_OUTCOMES = ['created', 'updated', 'unchanged', 'failed'] as const;
export type RowOutcome = (typeof ROW_OUTCOMES)[number];

/** The first errors kept on the import itself; all of them are in `import_errors` (downloadable). */
export const ERRORS_KEPT = 1000;

export interface ImportDoc {
  _id: string;
  status: ImportStatus;
  dryRun: boolean;
  format: ImportFormat;
  /** The Content-Type charset, when the client named one. */
  charset: string | null;
  bytes: number;
  chunks: number;
  phase: ImportPhase;
  /** Progress of the phase: rows read (of the file), or rows applied (of the distinct phones). */
  progress: { done: number; total: number | null };
  /** Data rows in the file (the header and blank rows not counted). */
  rows: number;
  /** Distinct phones after merging duplicates: what the apply phase works through. */
  staged: number;
  /** Rows folded into an earlier row of the same phone. */
  merged: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  /** The first errors (stored as `firstErrors`: `errors` is a reserved name in mongoose). */
  firstErrors: RowError[];
  errorCount: number;
  /** File row of the last staged row applied: a resumed import continues after it. */
  lastRow: number;
  failure: { reason: string; message: string } | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** The uploaded file, in order, in pieces under 16 MB (one MongoDB document each); deleted when the import ends. */
export interface ImportChunkDoc {
  _id: string;
  importId: string;
  n: number;
  data: Buffer;
}

/**
 * A staged row: `_id` = `<importId>:<phone>`, so rows of one phone meet on the unique key
 * (merged, or the later one reported).
 */
export interface ImportStagedDoc {
  _id: string;
  importId: string;
  row: number;
  data: ImportRow;
}

/**
 * What became of a staged row: `_id` = `<importId>:<row>`, inserted once (a resumed import
 * re-applying a row cannot count it twice). Inserts, not updates: on FerretDB v1 an update
 * scans the whole collection, an insert does not.
 */
export interface ImportOutcomeDoc {
  _id: string;
  importId: string;
  outcome: RowOutcome;
}

/**
 * What the imports loaded for a phone, written after everything else of the row: the row's
 * fingerprint (the same row again is `unchanged`), the opening balance and how many balance
 * entries the imports made (the counter in the ledger key `import:<phone>:<n>`).
 */
export interface ImportMarkDoc {
  _id: string;
  memberId: string;
  hash: string;
  balance: number;
  balanceSeq: number;
  card: string | null;
  importId: string;
  at: Date;
}

export interface ImportErrorDoc {
  _id: string;
  importId: string;
  row: number;
  column: string;
  reason: string;
}

const mixed = Schema.Types.Mixed;
const importSchema = new Schema<ImportDoc>(
  {
    _id: String,
    status: String,
    dryRun: Boolean,
    format: String,
    charset: { type: String, default: null },
    bytes: Number,
    chunks: Number,
    phase: String,
    progress: mixed,
    rows: Number,
    staged: Number,
    merged: Number,
    created: Number,
    updated: Number,
    unchanged: Number,
    failed: Number,
    firstErrors: mixed,
    errorCount: Number,
    lastRow: Number,
    failure: { type: mixed, default: null },
    createdAt: Date,
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { collection: 'imports', versionKey: false },
);
importSchema.index({ createdAt: -1 });

const chunkSchema = new Schema<ImportChunkDoc>({ _id: String, importId: String, n: Number, data: Buffer }, { collection: 'import_chunks', versionKey: false });
chunkSchema.index({ importId: 1, n: 1 });

const markSchema = new Schema<ImportMarkDoc>(
  { _id: String, memberId: String, hash: String, balance: Number, balanceSeq: Number, card: { type: String, default: null }, importId: String, at: Date },
  { collection: 'import_marks', versionKey: false },
);

const errorSchema = new Schema<ImportErrorDoc>({ _id: String, importId: String, row: Number, column: String, reason: String }, { collection: 'import_errors', versionKey: false });
errorSchema.index({ importId: 1, row: 1 });

function model<T>(conn: Connection, name: string, schema: Schema<T>): Model<T> {
  return (conn.models[name] as Model<T> | undefined) ?? conn.model<T>(name, schema);
}

export function importModels(conn: Connection) {
  return {
    Imports: model(conn, 'Import', importSchema),
    Chunks: model(conn, 'ImportChunk', chunkSchema),
    Marks: model(conn, 'ImportMark', markSchema),
    Errors: model(conn, 'ImportError', errorSchema),
  };
}
