import { DRAW_ALGORITHM, type DrawEntry } from './contest.draw.js';
import type { ContestChannel, ContestDoc, ContestEntryDoc, ContestWinner } from './contest.model.js';

export const CONTEST_STATUSES = ['scheduled', 'open', 'closed', 'drawn'] as const;
export type ContestStatus = (typeof CONTEST_STATUSES)[number];

/**
 * What anyone may see, and all the verifier needs besides the entry list: the commitment from
 * the start, the digest once closed, the seed and winners (masked) only after the draw.
 */
export interface PublicContestRecord {
  algorithm: typeof DRAW_ALGORITHM;
  id: string;
  title: string;
  description: string;
  status: ContestStatus;
  channels: ContestChannel[];
  prizes: number;
  opensAt: string;
  closesAt: string;
  closedAt: string | null;
  /** Why it closed before `closesAt` (fixed at creation); null when it closed then. */
  closeReason: string | null;
  commitment: string;
  entriesDigest: string | null;
  entryCount: number | null;
  seed: string | null;
  winners: { place: number; entryId: string; masked: string }[] | null;
}

/** A page of the published entry list: sorted by id, the frozen one once sealed. */
export interface PublicEntryList {
  contestId: string;
  sealed: boolean;
  entriesDigest: string | null;
  entries: DrawEntry[];
  /** The last id of this page, to ask for the next one; null on the last page. */
  nextCursor: string | null;
}

export interface AdminContestView extends Omit<PublicContestRecord, 'winners'> {
  minLevel: string | null;
  joinedBefore: string | null;
  /** Entries so far (live until the close). */
  entries: number;
  createdAt: string;
  drawnAt: string | null;
  winners: ContestWinner[] | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function statusOf(c: ContestDoc, now: Date): ContestStatus {
  if (c.drawnAt) return 'drawn';
  if (c.closedAt || now >= c.closesAt) return 'closed';
  return now < c.opensAt ? 'scheduled' : 'open';
}

export function publicRecord(c: ContestDoc, now: Date): PublicContestRecord {
  const drawn = c.drawnAt !== null && c.winners !== null;
  return {
    algorithm: DRAW_ALGORITHM,
    id: c._id,
    title: c.title,
    description: c.description,
    status: statusOf(c, now),
    channels: c.channels,
    prizes: c.prizes,
    opensAt: c.opensAt.toISOString(),
    closesAt: c.closesAt.toISOString(),
    closedAt: iso(c.closedAt),
    closeReason: c.closeReason ?? null,
    commitment: c.commitment,
    entriesDigest: c.entriesDigest,
    entryCount: c.entryCount,
    // The seed stays secret until the draw: known earlier, it would tell who wins.
    seed: drawn ? c.seed : null,
    winners: drawn ? (c.winners ?? []).map((w) => ({ place: w.place, entryId: w.entryId, masked: w.masked })) : null,
  };
}

export function adminView(c: ContestDoc, now: Date, liveCount: number): AdminContestView {
  return {
    ...publicRecord(c, now),
    minLevel: c.minLevel,
    joinedBefore: iso(c.joinedBefore),
    entries: c.entryCount ?? liveCount,
    createdAt: c.createdAt.toISOString(),
    drawnAt: iso(c.drawnAt),
    winners: c.drawnAt ? c.winners : null,
  };
}

/** RFC 4180 field; a leading = + - @ is defused so a spreadsheet never runs it as a formula. */
function csvField(v: string | number | boolean | null): string {
  let s = v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const CSV_COLUMNS = ['entry_id', 'masked', 'card', 'channel', 'account', 'member_id', 'entered_at', 'in_draw', 'place'] as const;

/** The entries as CSV (sorted by id, as drawn), with the place of each winner. */
export function entriesCsv(c: ContestDoc, entries: readonly ContestEntryDoc[]): string {
  const places = new Map((c.winners ?? []).map((w) => [w.entryId, w.place]));
  const sealed = c.entriesDigest !== null;
  const rows = [...entries]
    .sort((a, b) => (a.publicId < b.publicId ? -1 : a.publicId > b.publicId ? 1 : 0))
    .map((e) => [e.publicId, e.masked, e.card, e.channel, e.account, e.memberId, e.at.toISOString(), sealed ? e.included : '', places.get(e.publicId) ?? null]);
  return [CSV_COLUMNS as readonly string[], ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
