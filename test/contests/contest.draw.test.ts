import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { commitmentOf, drawWinners, entriesDigest, sortEntries, type DrawEntry } from '../../core/contests/contest.draw.js';
import { verifyContest } from '../../core/contests/contest.verify.js';

const entries = (n: number): DrawEntry[] =>
  Array.from({ length: n }, (_, i) => ({ id: createHash('md5').update(`e${i}`).digest('hex'), masked: `71•••••••${String(1000 + i)}` }));
const SEED = 'a1'.repeat(32);

/** The README's spec written out again, independently of the implementation. */
function referenceDraw(seedHex: string, contestId: string, list: DrawEntry[], prizes: number): { digest: string; ids: string[] } {
  const sorted = [...list].sort((a, b) => (a.id < b.id ? -1 : 1));
  const digest = createHash('sha256')
    .update(`loyalty-contest/v1\n${contestId}\n${sorted.map((e) => `${e.id}\t${e.masked}\n`).join('')}`)
    .digest('hex');
  const pool = [...sorted];
  const ids: string[] = [];
  for (let counter = 0; ids.length < Math.min(prizes, sorted.length); counter++) {
    const msg = Buffer.concat([Buffer.from(digest, 'hex'), Buffer.from([counter >>> 24, (counter >>> 16) & 255, (counter >>> 8) & 255, counter & 255])]);
    const mac = createHmac('sha256', Buffer.from(seedHex, 'hex')).update(msg).digest();
    const x = BigInt(`0x${mac.subarray(0, 6).toString('hex')}`);
    const n = BigInt(pool.length);
    if (x >= 2n ** 48n - ((2n ** 48n) % n)) continue;
    ids.push(pool.splice(Number(x % n), 1)[0]!.id);
  }
  return { digest, ids };
}

describe('contest draw (pure)', () => {
  it('the commitment is sha256 of the seed bytes', () => {
    const seed = randomBytes(32);
    expect(commitmentOf(seed.toString('hex'))).toBe(createHash('sha256').update(seed).digest('hex'));
    expect(() => commitmentOf('not hex')).toThrow();
  });

  it('follows the published spec (an independent re-implementation agrees)', () => {
    for (const n of [1, 2, 3, 7, 50]) {
      const list = entries(n);
      const ref = referenceDraw(SEED, 'c1', list, 5);
      const digest = entriesDigest('c1', list);
      expect(digest).toBe(ref.digest);
      expect(drawWinners({ seed: SEED, entriesDigest: digest, entries: list, prizes: 5 }).map((w) => w.id)).toEqual(ref.ids);
    }
  });

  it('is deterministic and independent of the order entries are given in', () => {
    const list = entries(40);
    const digest = entriesDigest('c1', list);
    const a = drawWinners({ seed: SEED, entriesDigest: digest, entries: list, prizes: 5 });
    const b = drawWinners({ seed: SEED, entriesDigest: entriesDigest('c1', [...list].reverse()), entries: [...list].reverse(), prizes: 5 });
    expect(b).toEqual(a);
    expect(a.map((w) => w.place)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(a.map((w) => w.id)).size).toBe(5);
    // Another seed, another result (for 40 entries, a collision of all five is negligible).
    expect(drawWinners({ seed: 'b2'.repeat(32), entriesDigest: digest, entries: list, prizes: 5 })).not.toEqual(a);
  });

  it('draws everybody when there are fewer entries than prizes, and nobody from an empty list', () => {
    const list = entries(3);
    const won = drawWinners({ seed: SEED, entriesDigest: entriesDigest('c', list), entries: list, prizes: 10 });
    expect(won.map((w) => w.id).sort()).toEqual(sortEntries(list).map((e) => e.id));
    expect(drawWinners({ seed: SEED, entriesDigest: entriesDigest('c', []), entries: [], prizes: 3 })).toEqual([]);
  });

  it('the digest binds every id, masked number and the contest id; ambiguous lists are refused', () => {
    const list = entries(5);
    const d = entriesDigest('c1', list);
    expect(entriesDigest('c2', list)).not.toBe(d);
    expect(entriesDigest('c1', list.map((e, i) => (i === 2 ? { ...e, masked: '71•••••••9999' } : e)))).not.toBe(d);
    expect(entriesDigest('c1', list.slice(1))).not.toBe(d);
    expect(() => entriesDigest('c1', [...list, list[0]!])).toThrow(/twice/);
    expect(() => entriesDigest('c1', [{ id: 'a\tb', masked: 'x' }])).toThrow(/tab/);
  });

  it('is fair: over many seeds each of 3 entries wins first place about a third of the time', () => {
    const list = entries(3);
    const digest = entriesDigest('c', list);
    const wins = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const [first] = drawWinners({ seed: createHash('sha256').update(`s${i}`).digest('hex'), entriesDigest: digest, entries: list, prizes: 1 });
      wins.set(first!.id, (wins.get(first!.id) ?? 0) + 1);
    }
    for (const e of list) expect(wins.get(e.id)).toBeGreaterThan(850);
  });

  it('verifyContest agrees with a correct record and names what disagrees', () => {
    const list = entries(12);
    const digest = entriesDigest('c9', list);
    const winners = drawWinners({ seed: SEED, entriesDigest: digest, entries: list, prizes: 3 }).map((w) => ({ place: w.place, entryId: w.id, masked: w.masked }));
    const record = { id: 'c9', title: 't', status: 'drawn', prizes: 3, commitment: commitmentOf(SEED), entriesDigest: digest, seed: SEED, winners };
    expect(verifyContest(record, list).agree).toBe(true);

    const wrongSeed = verifyContest({ ...record, seed: 'b2'.repeat(32) }, list);
    expect(wrongSeed.agree).toBe(false);
    expect(wrongSeed.checks.find((c) => c.name === 'commitment')?.ok).toBe(false);
    const altered = verifyContest(record, list.map((e, i) => (i === 0 ? { ...e, masked: '71•••••••0000' } : e)));
    expect(altered.checks.find((c) => c.name === 'entries digest')?.ok).toBe(false);
    const swapped = verifyContest({ ...record, winners: [...winners].reverse().map((w, i) => ({ ...w, place: i + 1 })) }, list);
    expect(swapped.checks.find((c) => c.name === 'winners')?.ok).toBe(false);
    expect(verifyContest({ ...record, seed: null, winners: null }, list)).toMatchObject({ agree: false, checks: [{ name: 'drawn', ok: false }] });
  });
});
