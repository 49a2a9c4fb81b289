import type { Model } from 'mongoose';
import type { Clock } from '../shared/clock.js';
import type { CellDoc } from './insight.model.js';

interface RolledFact {
  _id: string;
  cell: string;
  rolled: boolean;
}

/**
 * Folds facts into their cells, exactly once in effect, under retries, crashes and
 * concurrent roll-ups, with no multi-document transaction:
 *
 *   0. mark the cell stale            (a crash from here on leaves it stale → recomputed)
 *   1. mark its unrolled facts rolled (a fact inserted later stays unrolled → recomputed)
 *   2. sum ALL facts of the cell      (bounded to one cell)
 *   3. $set the sums, guarded by n    (facts only grow: a larger count is a newer sum, so an
 *                                      older concurrent roll-up can never overwrite a newer one)
 *
 * Recomputing instead of incrementing is what makes it safe: running any step twice gives
 * the same cell. Facts themselves are exactly-once by their unique `_id` (the event id).
 * Dirty cells are those with unrolled facts or a stale mark, so the work per roll-up is
 * proportional to what happened since the last one, not to history.
 */
export async function rollupCells<F extends RolledFact>(facts: Model<F>, cells: Model<CellDoc>, fields: readonly string[], clock: Clock): Promise<number> {
  const unrolled = (await facts.collection.distinct('cell', { rolled: false })) as string[];
  const stale = (await cells.collection.distinct('_id', { stale: true })) as unknown as string[];
  const dirty = [...new Set([...unrolled, ...stale])].sort();
  for (const cell of dirty) await rollupCell(facts, cells, fields, cell, clock);
  return dirty.length;
}

async function rollupCell<F extends RolledFact>(facts: Model<F>, cells: Model<CellDoc>, fields: readonly string[], cell: string, clock: Clock): Promise<void> {
  const Cells = cells.collection;
  await Cells.updateOne({ _id: cell as never }, { $set: { stale: true } }, { upsert: true });
  await facts.collection.updateMany({ cell, rolled: false }, { $set: { rolled: true } });
  // Summed here rather than by $group: FerretDB v1 computes only the FIRST accumulator of a
  // $group (every later one comes back 0), and one cell's facts are a bounded read anyway.
  const v: Record<string, number> = Object.fromEntries(fields.map((f) => [f, 0]));
  let n = 0;
  const projection = Object.fromEntries(fields.map((f) => [f, 1]));
  for await (const doc of facts.collection.find({ cell }, { projection })) {
    n++;
    for (const f of fields) {
      const x = (doc as Record<string, unknown>)[f];
      if (typeof x === 'number') v[f] = (v[f] ?? 0) + x;
    }
  }
  await Cells.updateOne(
    { _id: cell as never, $or: [{ n: { $lte: n } }, { n: { $exists: false } }] },
    { $set: { v, n, stale: false, at: clock.now() } },
  );
}
