import { createHash, createHmac } from 'node:crypto';

/**
 * The provably fair draw, pure and deterministic: the same seed and entry list always give
 * the same winners, here, in the verifier (scripts/contest-verify.ts) and in anyone's own
 * re-implementation of the spec below (the README's "Contests" section repeats it).
 *
 * Spec `loyalty-contest/v1` (all hex is lowercase):
 *  1. seed: 32 bytes from a CSPRNG, drawn when the contest is created and kept secret;
 *     commitment = hex(SHA-256(seed bytes)), published at creation.
 *  2. entry: `id` (32 hex characters, random, given to the participant when they enter) and
 *     `masked` (the card number masked as published, e.g. `71•••••••1234`, UTF-8).
 *  3. entriesDigest = hex(SHA-256(UTF-8 of
 *       "loyalty-contest/v1\n" + contestId + "\n" + concat over entries sorted by id
 *       ascending (byte order) of (id + "\t" + masked + "\n")))
 *     published when the contest closes (the list is frozen then).
 *  4. winners, the seed revealed: pool = the entries sorted by id, counter = 0; while fewer
 *     than min(prizes, entries) winners:
 *       mac = HMAC-SHA256(key = seed bytes, message = entriesDigest bytes (32) || uint32be(counter)); counter += 1
 *       x = the first 6 bytes of mac as an unsigned big-endian integer (0 ≤ x < 2^48)
 *       n = size of the pool; if x ≥ 2^48 − (2^48 mod n): reject it and go on (no modulo bias)
 *       otherwise the entry at index (x mod n) wins the next place and leaves the pool.
 */

export const DRAW_ALGORITHM = 'loyalty-contest/v1';

export interface DrawEntry {
  id: string;
  masked: string;
}

const HEX32 = /^[0-9a-f]{64}$/;
const SPACE = 2 ** 48;

function bytesOfHex(hex: string, what: string): Buffer {
  if (!HEX32.test(hex)) throw new Error(`${what} must be 64 lowercase hex characters`);
  return Buffer.from(hex, 'hex');
}

/** hex(SHA-256(seed bytes)). */
export function commitmentOf(seedHex: string): string {
  return createHash('sha256').update(bytesOfHex(seedHex, 'seed')).digest('hex');
}

/** Byte order of the UTF-8 ids, which for hex ids is plain string order. */
function byId(a: DrawEntry, b: DrawEntry): number {
  return Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8'));
}

/** The canonical order of an entry list: by id. */
export function sortEntries<T extends DrawEntry>(entries: readonly T[]): T[] {
  return [...entries].sort(byId);
}

/** Spec step 3. Refuses what would make the text ambiguous (a separator inside a field, a repeated id). */
export function entriesDigest(contestId: string, entries: readonly DrawEntry[]): string {
  const hash = createHash('sha256').update(`${DRAW_ALGORITHM}\n${contestId}\n`, 'utf8');
  let previous: string | null = null;
  for (const e of sortEntries(entries)) {
    if (/[\t\n]/.test(e.id) || /[\t\n]/.test(e.masked)) throw new Error(`entry ${JSON.stringify(e.id)} has a tab or newline`);
    if (e.id === previous) throw new Error(`entry id ${e.id} appears twice`);
    previous = e.id;
    hash.update(`${e.id}\t${e.masked}\n`, 'utf8');
  }
  return hash.digest('hex');
}

/** Spec step 4: the winners in place order. */
export function drawWinners<T extends DrawEntry>(input: { seed: string; entriesDigest: string; entries: readonly T[]; prizes: number }): (T & { place: number })[] {
  const key = bytesOfHex(input.seed, 'seed');
  const digest = bytesOfHex(input.entriesDigest, 'entriesDigest');
  if (!Number.isSafeInteger(input.prizes) || input.prizes < 0) throw new Error('prizes must be a non-negative integer');
  const pool = sortEntries(input.entries);
  if (pool.length >= SPACE) throw new Error('too many entries');
  const wanted = Math.min(input.prizes, pool.length);
  const winners: (T & { place: number })[] = [];
  const message = Buffer.alloc(36);
  digest.copy(message, 0);
  for (let counter = 0; winners.length < wanted; counter++) {
    // Each try is accepted with probability > 1/2, so this bound is never reached by chance.
    if (counter > 0xffff_ffff || counter > wanted * 64 + 1024) throw new Error('draw did not converge');
    message.writeUInt32BE(counter, 32);
    const x = createHmac('sha256', key).update(message).digest().readUIntBE(0, 6);
    const n = pool.length;
    if (x >= SPACE - (SPACE % n)) continue;
    const [won] = pool.splice(x % n, 1);
    if (won) winners.push({ ...won, place: winners.length + 1 });
  }
  return winners;
}
