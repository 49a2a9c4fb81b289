/**
 * RFM scoring: recency, frequency and monetary value each scored 1–5 by quintiles over the
 * members who bought anything, then a named group from R and FM = ⌈(F + M) / 2⌉ in the table
 * below (README "Import, segments and reports" shows it). Pure functions: the build feeds them.
 */

export const RFM_GROUPS = [
  'champions',
  'loyal',
  'potential_loyalist',
  'new',
  'promising',
  'need_attention',
  'about_to_sleep',
  'at_risk',
  'cant_lose',
  'hibernating',
  'lost',
] as const;
export type RfmGroup = (typeof RFM_GROUPS)[number];

/** Rows R = 5..1 (most recent first), columns FM = 1..5. */
const TABLE: Record<number, readonly RfmGroup[]> = {
  5: ['new', 'potential_loyalist', 'potential_loyalist', 'loyal', 'champions'],
  4: ['promising', 'potential_loyalist', 'potential_loyalist', 'loyal', 'champions'],
  3: ['about_to_sleep', 'need_attention', 'need_attention', 'loyal', 'loyal'],
  2: ['hibernating', 'about_to_sleep', 'at_risk', 'at_risk', 'cant_lose'],
  1: ['lost', 'hibernating', 'at_risk', 'cant_lose', 'cant_lose'],
};

export function rfmGroup(r: number, f: number, m: number): RfmGroup {
  const fm = Math.ceil((f + m) / 2);
  const row = TABLE[r];
  const g = row?.[fm - 1];
  if (!g) throw new Error(`RFM scores out of range: ${r} ${f} ${m}`);
  return g;
}

/**
 * A quintile scorer over a sample: 1 + ⌊5 × (values strictly below x) / n⌋. Distinct values
 * split into five equal fifths; equal values always score the same (the score of the first
 * of them, as a "min" rank), so a crowd of one-purchase members all score 1 in frequency.
 */
export function quintileScorer(values: Float64Array): (x: number) => number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  return (x) => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sorted[mid] ?? 0) < x) lo = mid + 1;
      else hi = mid;
    }
    return n === 0 ? 1 : Math.min(5, 1 + Math.floor((5 * lo) / n));
  };
}
