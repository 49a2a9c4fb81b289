import { createHash } from 'node:crypto';

/**
 * The marketing rules as pure functions: quiet hours in the shop's time zone, the frequency
 * cap per member, and who falls in a broadcast's holdout. No I/O; the planner and the
 * workers call them with the clock's time.
 */

export interface QuietHours {
  /** "HH:MM" in the shop's time zone; the window may wrap midnight (21:00–09:00). */
  start: string;
  end: string;
}

const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

/** Local wall-clock minutes and seconds of `at` in `timeZone`. */
function localTime(at: Date, timeZone: string): { minutes: number; seconds: number } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { minutes: get('hour') * 60 + get('minute'), seconds: get('second') };
}

/**
 * When the quiet hours containing `at` end (messages wait until then), or null when `at` is
 * outside them. A window whose start equals its end is empty (no quiet hours).
 */
export function quietUntil(at: Date, quiet: QuietHours | null, timeZone: string): Date | null {
  if (!quiet) return null;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return null;
  const { minutes, seconds } = localTime(at, timeZone);
  const inside = start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
  if (!inside) return null;
  // Minutes left until the end, across midnight when the window wraps.
  const left = (end - minutes + 1440) % 1440;
  const ms = left * 60_000 - seconds * 1000 - at.getUTCMilliseconds();
  return new Date(at.getTime() + ms);
}

export interface FrequencyCap {
  max: number;
  days: number;
}

/** One marketing message a member got (reserved when the broadcast was planned for them). */
export interface CapEntry {
  b: string;
  at: Date;
}

/**
 * Rule: at most `cap.max` marketing messages per member within `cap.days` (default 3 per 7
 * days). Returns the entries to keep (older ones dropped) and whether broadcast `b` may go.
 * A broadcast already counted for the member is allowed again (a planning page retried).
 */
export function capAllows(entries: readonly CapEntry[], b: string, at: Date, cap: FrequencyCap): { allowed: boolean; keep: CapEntry[] } {
  const since = at.getTime() - cap.days * 86_400_000;
  const keep = entries.filter((e) => new Date(e.at).getTime() > since);
  if (keep.some((e) => e.b === b)) return { allowed: true, keep };
  return { allowed: keep.length < cap.max, keep };
}

/**
 * Whether a member is in a broadcast's holdout (left out to measure the broadcast's effect):
 * a hash of broadcast and member, so the choice is the same on every planning retry.
 * `percent` 0..50.
 */
export function inHoldout(broadcastId: string, memberId: string, percent: number): boolean {
  if (percent <= 0) return false;
  const h = createHash('sha256').update(`${broadcastId}:${memberId}`).digest().readUInt32BE(0);
  return h % 10_000 < Math.round(percent * 100);
}

/**
 * VK's random_id for a broadcast: VK drops a message whose random_id a peer already got from
 * this community, so one id per broadcast makes every retry (whatever the batch) exactly once
 * per member. 31 bits, never 0.
 */
export function vkRandomId(broadcastId: string): number {
  return createHash('sha256').update(`broadcast:${broadcastId}`).digest().readUInt32BE(0) & 0x7fffffff || 1;
}
