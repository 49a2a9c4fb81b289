import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { CardService } from '../cards/card.service.js';
import type { MemberStatsMirror } from '../insight/member-stats.mirror.js';
import type { Ledger } from '../ledger/ledger.service.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import type { ImportApplyRepository } from './import-apply.repository.js';
import { createRowApplier, type ImportPhones } from './import.apply.js';
import { mapHeader, type ImportField } from './import.columns.js';
import { csvRows, decodeText } from './import.csv.js';
import { ERRORS_KEPT, ROW_OUTCOMES, type ImportDoc, type ImportOutcomeDoc, type ImportStagedDoc, type RowOutcome } from './import.model.js';
import type { ImportRepository } from './import.repository.js';
import { mergeRows, normalizeRow, type RowCells, type RowError } from './import.row.js';
import { ImportFileError, sniffFormat, type ImportFormat, type SourceRow } from './import.source.js';
import { xlsxRows } from './import.xlsx.js';

/** Pieces of the stored file: well under MongoDB's 16 MB document limit. */
const CHUNK_BYTES = 1024 * 1024;
/** Rows staged, applied and counted per round trip. */
const BATCH = 500;

export interface ImportView {
  id: string;
  status: ImportDoc['status'];
  dryRun: boolean;
  format: ImportFormat;
  progress: { phase: ImportDoc['phase']; done: number; total: number | null; percent: number };
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  merged: number;
  failed: number;
  errors: RowError[];
  errorCount: number;
  failure: ImportDoc['failure'];
  createdAt: string;
  finishedAt: string | null;
}

export interface ImportServiceDeps {
  /** The import's own records. */
  repo: ImportRepository;
  /** What a row writes into the programme (members, aliases, cards, the phones' marks). */
  target: ImportApplyRepository;
  ledger: Ledger;
  cards: CardService;
  mirror: MemberStatsMirror;
  /** The phone registry: imported numbers are proved by the shop. */
  phones: ImportPhones;
  settings: () => Promise<ProgrammeSettings>;
  clock: Clock;
  timeZone: string;
}

function percentOf(done: number, total: number | null): number {
  return total ? Math.min(100, Math.floor((done / total) * 100)) : 0;
}

export function view(d: ImportDoc): ImportView {
  // The read phase counts bytes, the apply phase rows; the bar gives each half.
  const phasePercent = percentOf(d.progress.done, d.progress.total);
  const percent = d.status === 'done' ? 100 : d.phase === 'apply' ? 50 + Math.floor(phasePercent / 2) : d.phase === 'read' ? Math.floor(phasePercent / 2) : 0;
  return {
    id: d._id,
    status: d.status,
    dryRun: d.dryRun,
    format: d.format,
    progress: { phase: d.phase, done: d.progress.done, total: d.progress.total, percent },
    rows: d.rows,
    created: d.created,
    updated: d.updated,
    unchanged: d.unchanged,
    merged: d.merged,
    failed: d.failed,
    errors: d.firstErrors,
    errorCount: d.errorCount,
    failure: d.failure,
    createdAt: d.createdAt.toISOString(),
    finishedAt: d.finishedAt?.toISOString() ?? null,
  };
}

/**
 * Imports a member base from CSV or XLSX: upload (stored in pieces) → read (every row checked,
 * duplicates merged or reported, valid rows staged per phone) → apply (staged rows loaded in
 * batches, each row whole or not at all) → counts. Runs in a worker job; running it again
 * resumes where it stopped. A dry run reads and judges every row but writes no member data.
 */
export function createImportService(deps: ImportServiceDeps) {
  const repo = deps.repo;
  const applier = createRowApplier({ repo: deps.target, ledger: deps.ledger, cards: deps.cards, mirror: deps.mirror, phones: deps.phones, clock: deps.clock });

  async function setProgress(importId: string, set: Partial<ImportDoc>): Promise<void> {
    await repo.set(importId, set);
  }

  /** Errors are kept once per row and column: a resumed import reporting them again adds nothing. */
  async function saveErrors(errors: RowError[], importId: string): Promise<void> {
    await repo.addErrors(errors.map((e) => ({ _id: `${importId}:${e.row}:${e.column}`, importId, ...e })));
  }

  /** Read phase: every row checked; valid rows staged one per phone. Returns the counts. */
  async function read(doc: ImportDoc, settings: ProgrammeSettings, onProgress: () => void): Promise<{ rows: number; merged: number; failedRows: number; staged: number }> {
    const importId = doc._id;
    await repo.clearRead(importId);
    let bytesRead = 0;
    const counted = async function* (): AsyncGenerator<Buffer> {
      for await (const b of repo.fileBytes(importId)) {
        bytesRead += b.length;
        yield b;
      }
    };
    const source: AsyncIterable<SourceRow> = doc.format === 'xlsx' ? xlsxRows(Readable.from(counted())) : csvRows(decodeText(counted(), doc.charset ?? undefined));
    const now = deps.clock.now();
    const ctx = { settings, now, timeZone: deps.timeZone };
    let columns: (ImportField | null)[] | null = null;
    let rows = 0;
    let merged = 0;
    let failedRows = 0;
    let staged = 0;
    // Index of the file, not its content: phone → staged, old card number → its phone.
    const phones = new Set<string>();
    const cardOwners = new Map<string, string>();
    let pending = new Map<string, ImportStagedDoc>();
    let errors: RowError[] = [];

    const flush = async (): Promise<void> => {
      await repo.stage([...pending.values()]);
      staged += pending.size;
      pending = new Map();
      await saveErrors(errors, importId);
      errors = [];
      await setProgress(importId, { progress: { done: bytesRead, total: doc.bytes }, rows });
      onProgress();
    };

    for await (const r of source) {
      const blank = r.cells.every((c) => c === null || (typeof c === 'string' && c.trim() === ''));
      if (blank) continue;
      if (!columns) {
        const h = mapHeader(r.cells);
        if (!h.ok) {
          await saveErrors(h.errors.map((e) => ({ ...e, row: r.row })), importId);
          throw new ImportFileError('no_header', `the header row lacks ${h.errors.map((e) => e.column).join(', ')}`);
        }
        columns = h.columns;
        continue;
      }
      rows++;
      const cells: RowCells = {};
      columns.forEach((f, i) => {
        if (f) cells[f] = r.cells[i] ?? null;
      });
      const res = normalizeRow(r.row, cells, ctx);
      if (!res.ok) {
        errors.push(...res.errors);
        failedRows++;
      } else {
        const v = res.value;
        const owner = v.card ? cardOwners.get(v.card) : undefined;
        if (v.card && owner && owner !== v.phone) {
          errors.push({ row: r.row, column: 'card', reason: 'card_duplicate' });
          failedRows++;
        } else if (phones.has(v.phone)) {
          const id = `${importId}:${v.phone}`;
          const first = pending.get(v.phone) ?? (await repo.staged(id));
          const m = first ? mergeRows(first.data, v) : null;
          if (!first || !m?.ok) {
            for (const column of m && !m.ok ? m.columns : ['phone' as const]) errors.push({ row: r.row, column, reason: 'duplicate_conflict' });
            failedRows++;
          } else {
            merged++;
            if (m.value.card) cardOwners.set(m.value.card, v.phone);
            if (pending.has(v.phone)) pending.set(v.phone, { ...first, data: m.value });
            else await repo.restage(id, m.value);
          }
        } else {
          phones.add(v.phone);
          if (v.card) cardOwners.set(v.card, v.phone);
          pending.set(v.phone, { _id: `${importId}:${v.phone}`, importId, row: r.row, data: v });
        }
      }
      if (pending.size >= BATCH || errors.length >= BATCH) await flush();
    }
    if (!columns) throw new ImportFileError('no_header', 'the file has no header row');
    await flush();
    return { rows, merged, failedRows, staged };
  }

  /** Apply phase: staged rows after the last one applied, in file order, in batches (one cursor: one scan). */
  async function apply(doc: ImportDoc, settings: ProgrammeSettings, onProgress: () => void): Promise<void> {
    const importId = doc._id;
    let done = await repo.countOutcomes(importId);
    const ctx = { importId, dryRun: doc.dryRun, settings };
    let batch: ImportStagedDoc[] = [];
    const run = async (): Promise<void> => {
      let results: { row: number; outcome: RowOutcome; error?: RowError }[];
      try {
        results = await applier.applyBatch(batch, ctx);
      } catch (err) {
        // The ledger refused a lowered balance (points spent meanwhile, after the check): that
        // batch is redone row by row so only that row is reported.
        if (!(err instanceof DomainError && err.code === 'insufficient_points')) throw err;
        results = [];
        for (const one of batch) {
          try {
            results.push(...(await applier.applyBatch([one], ctx)));
          } catch (e) {
            if (!(e instanceof DomainError && e.code === 'insufficient_points')) throw e;
            results.push({ row: one.row, outcome: 'failed', error: { row: one.row, column: 'balance', reason: 'insufficient_points' } });
          }
        }
      }
      const outcomes: ImportOutcomeDoc[] = results.map((r) => ({ _id: `${importId}:${r.row}`, importId, outcome: r.outcome }));
      const errors = results.flatMap((r) => (r.error ? [r.error] : []));
      await saveErrors(errors, importId);
      await repo.addOutcomes(outcomes);
      done += batch.length;
      await setProgress(importId, { lastRow: batch[batch.length - 1]?.row ?? doc.lastRow, progress: { done, total: doc.staged } });
      batch = [];
      onProgress();
    };
    for await (const s of repo.stagedAfter(importId, doc.lastRow, BATCH)) {
      batch.push(s);
      if (batch.length >= BATCH) await run();
    }
    if (batch.length) await run();
  }

  /** The file and the working rows go once the import has ended; counts and errors stay. */
  const cleanUp = (importId: string): Promise<void> => repo.cleanUp(importId);

  async function finish(importId: string, counts: { rows: number; merged: number; failedRows: number }): Promise<ImportDoc | null> {
    const counted = await repo.outcomeCounts(importId);
    const by = Object.fromEntries(ROW_OUTCOMES.map((o) => [o, counted[o] ?? 0])) as Record<RowOutcome, number>;
    const errors = await repo.firstErrors(importId, ERRORS_KEPT, { byRow: true });
    const errorCount = await repo.countErrors(importId);
    await repo.set(importId, {
      status: 'done',
      phase: 'finished',
      rows: counts.rows,
      merged: counts.merged,
      created: by.created,
      updated: by.updated,
      unchanged: by.unchanged,
      failed: counts.failedRows + by.failed,
      firstErrors: errors.map((e) => ({ row: e.row, column: e.column, reason: e.reason })),
      errorCount,
      finishedAt: deps.clock.now(),
    });
    await cleanUp(importId);
    return repo.get(importId);
  }

  return {
    init: (): Promise<void> => repo.init(),

    /**
     * Stores an uploaded file and queues its import. The body is read as it arrives; past
     * `maxBytes` the upload is refused and nothing is kept.
     */
    async create(input: { body: AsyncIterable<Uint8Array>; contentType: string | undefined; dryRun: boolean; maxBytes: number }): Promise<string> {
      const importId = randomBytes(12).toString('hex');
      const charset = /charset=([\w-]+)/i.exec(input.contentType ?? '')?.[1] ?? null;
      let buf: Buffer[] = [];
      let size = 0;
      let bytes = 0;
      let n = 0;
      let head: Buffer | null = null;
      const put = async (): Promise<void> => {
        if (size === 0) return;
        const data = Buffer.concat(buf);
        head ??= data.subarray(0, 8);
        await repo.addChunk({ _id: `${importId}:${n}`, importId, n, data });
        n++;
        buf = [];
        size = 0;
      };
      try {
        for await (const part of input.body) {
          bytes += part.length;
          if (bytes > input.maxBytes) throw new DomainError('file_too_large', `the file is larger than ${input.maxBytes} bytes`, { maxBytes: input.maxBytes });
          buf.push(Buffer.from(part));
          size += part.length;
          if (size >= CHUNK_BYTES) await put();
        }
        await put();
        if (bytes === 0) throw new DomainError('validation_failed', 'the file is empty');
      } catch (err) {
        await repo.dropChunks(importId);
        throw err;
      }
      const doc: ImportDoc = {
        _id: importId,
        status: 'queued',
        dryRun: input.dryRun,
        format: sniffFormat(head ?? Buffer.alloc(0), input.contentType),
        charset,
        bytes,
        chunks: n,
        phase: 'upload',
        progress: { done: 0, total: bytes },
        rows: 0,
        staged: 0,
        merged: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        firstErrors: [],
        errorCount: 0,
        lastRow: 0,
        failure: null,
        createdAt: deps.clock.now(),
        startedAt: null,
        finishedAt: null,
      };
      await repo.insert(doc);
      return importId;
    },

    /** Runs (or resumes) an import to the end. `onProgress` is called after each batch. */
    async run(importId: string, onProgress: (v: ImportView) => void = () => undefined): Promise<ImportView> {
      let doc = await repo.get(importId);
      if (!doc) throw new DomainError('import_not_found', 'no such import');
      if (doc.status === 'done' || doc.status === 'failed') return view(doc);
      const tell = (): void => {
        void repo.get(importId).then((d) => d && onProgress(view(d)));
      };
      await setProgress(importId, { status: 'running', startedAt: doc.startedAt ?? deps.clock.now() });
      const settings = await deps.settings();
      try {
        if (doc.phase === 'upload' || doc.phase === 'read') {
          await setProgress(importId, { phase: 'read', progress: { done: 0, total: doc.bytes } });
          const counts = await read(doc, settings, tell);
          await setProgress(importId, { phase: 'apply', rows: counts.rows, merged: counts.merged, failed: counts.failedRows, staged: counts.staged, progress: { done: 0, total: counts.staged } });
          doc = { ...doc, ...counts, phase: 'apply', failed: counts.failedRows };
        }
        await apply(doc, settings, tell);
        const final = await finish(importId, { rows: doc.rows, merged: doc.merged, failedRows: doc.failed });
        if (!final) throw new DomainError('import_not_found', 'the import disappeared');
        onProgress(view(final));
        return view(final);
      } catch (err) {
        if (!(err instanceof ImportFileError)) throw err;
        // The file as a whole cannot be read: nothing was applied (the apply phase had not begun).
        await repo.set(importId, {
          status: 'failed',
          phase: 'finished',
          failure: { reason: err.reason, message: err.message },
          finishedAt: deps.clock.now(),
          errorCount: await repo.countErrors(importId),
          firstErrors: await repo.firstErrors(importId, ERRORS_KEPT, { byRow: false }),
        });
        await cleanUp(importId);
        const failed = await repo.get(importId);
        if (!failed) throw new DomainError('import_not_found', 'the import disappeared');
        onProgress(view(failed));
        return view(failed);
      }
    },

    async get(importId: string): Promise<ImportView> {
      const doc = await repo.get(importId);
      if (!doc) throw new DomainError('import_not_found', 'no such import');
      return view(doc);
    },

    /** Every error of an import, in row order, streamed from the database. */
    async *errors(importId: string): AsyncGenerator<RowError> {
      if (!(await repo.exists(importId))) throw new DomainError('import_not_found', 'no such import');
      yield* repo.errors(importId);
    },
  };
}
