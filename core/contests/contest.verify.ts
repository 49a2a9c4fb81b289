import { z } from 'zod';
import { commitmentOf, DRAW_ALGORITHM, drawWinners, entriesDigest } from './contest.draw.js';

/**
 * Checks a published contest record against its published entry list, using nothing but the
 * record itself (no database, no secret): what `npm run contest:verify` runs.
 */

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const entry = z.object({ id: z.string().min(1), masked: z.string() });

export const verifiableRecord = z.object({
  algorithm: z.literal(DRAW_ALGORITHM).optional(),
  id: z.string().min(1),
  title: z.string(),
  status: z.string(),
  prizes: z.int().min(0),
  commitment: hex64,
  entriesDigest: hex64.nullable(),
  seed: hex64.nullable(),
  winners: z.array(z.object({ place: z.int(), entryId: z.string(), masked: z.string() })).nullable(),
  /** The closing time fixed at creation, when it actually closed, and why if earlier (absent in records made before these were published). */
  closesAt: z.string().optional(),
  closedAt: z.string().nullable().optional(),
  closeReason: z.string().nullable().optional(),
  /** A record file may carry the list inline; over HTTP it comes from …/entries. */
  entries: z.array(entry).optional(),
});
export type VerifiableRecord = z.output<typeof verifiableRecord>;
/** One page of …/entries; `nextCursor` names the next page (absent: the whole list). */
export const verifiableEntries = z.object({ entries: z.array(entry), nextCursor: z.string().nullable().optional() });

export interface VerifyCheck {
  name: string;
  ok: boolean;
  detail: string;
}
export interface VerifyReport {
  /** True only when every check passed. */
  agree: boolean;
  checks: VerifyCheck[];
}

export function verifyContest(record: VerifiableRecord, entries: readonly z.output<typeof entry>[]): VerifyReport {
  const checks: VerifyCheck[] = [];
  const { seed, entriesDigest: published, winners } = record;
  if (seed === null || published === null || winners === null) {
    checks.push({ name: 'drawn', ok: false, detail: `status is ${record.status}: the seed and winners are published only after the draw` });
    return { agree: false, checks };
  }
  if (record.closesAt && record.closedAt) {
    const early = Date.parse(record.closedAt) < Date.parse(record.closesAt);
    checks.push({
      name: 'closing time',
      ok: !early || Boolean(record.closeReason),
      detail: !early
        ? `closed at the closing time published at creation (${record.closesAt})`
        : record.closeReason
          ? `closed early at ${record.closedAt} (published ${record.closesAt}); reason given: ${record.closeReason}`
          : `closed early at ${record.closedAt} (published ${record.closesAt}) without a published reason`,
    });
  }
  const commitment = commitmentOf(seed);
  checks.push({
    name: 'commitment',
    ok: commitment === record.commitment,
    detail: commitment === record.commitment ? 'sha256(seed) equals the commitment published at creation' : `sha256(seed) is ${commitment}, the commitment was ${record.commitment}`,
  });

  let digest: string | null = null;
  try {
    digest = entriesDigest(record.id, entries);
  } catch (err) {
    checks.push({ name: 'entries digest', ok: false, detail: `the entry list is not well formed: ${(err as Error).message}` });
  }
  if (digest !== null) {
    checks.push({
      name: 'entries digest',
      ok: digest === published,
      detail: digest === published ? `${entries.length} published entries hash to the published digest` : `${entries.length} published entries hash to ${digest}, the record says ${published}`,
    });
    const expected = drawWinners({ seed, entriesDigest: published, entries, prizes: record.prizes });
    const got = [...winners].sort((a, b) => a.place - b.place);
    const same = expected.length === got.length && expected.every((w, i) => got[i]?.place === w.place && got[i]?.entryId === w.id && got[i]?.masked === w.masked);
    const show = (list: { place: number; id: string; masked: string }[]) => list.map((w) => `${w.place}. ${w.masked} (${w.id})`).join(', ') || 'none';
    checks.push({
      name: 'winners',
      ok: same,
      detail: same
        ? `recomputed from seed + entries: ${show(expected)}`
        : `recomputed ${show(expected)}; published ${show(got.map((w) => ({ place: w.place, id: w.entryId, masked: w.masked })))}`,
    });
  }
  return { agree: checks.every((c) => c.ok), checks };
}
