import { DomainError } from '../shared/errors.js';

/**
 * Days and months as the shop counts them: in its own time zone (SHOP_TIMEZONE), not UTC.
 * A purchase at 01:30 Moscow time on the 2nd belongs to the 2nd, although it is still the 1st in UTC.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

function parts(d: Date, timeZone: string): { y: number; m: number; d: number; h: number; min: number; s: number } {
  const p = Object.fromEntries(formatter(timeZone).formatToParts(d).map((x) => [x.type, x.value]));
  return { y: Number(p.year), m: Number(p.month), d: Number(p.day), h: Number(p.hour), min: Number(p.minute), s: Number(p.second) };
}

/** 'YYYY-MM-DD' of the shop's calendar day that contains `d`. */
export function shopDay(d: Date, timeZone: string): string {
  const p = parts(d, timeZone);
  return `${p.y}-${String(p.m).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`;
}

/** 'YYYY-MM' of the shop's month that contains `d`. */
export function shopMonth(d: Date, timeZone: string): string {
  return shopDay(d, timeZone).slice(0, 7);
}

/** Offset of the zone from UTC at instant `t`, in ms (positive east of Greenwich). */
function offsetAt(t: number, timeZone: string): number {
  const p = parts(new Date(t), timeZone);
  return Date.UTC(p.y, p.m - 1, p.d, p.h, p.min, p.s) - Math.floor(t / 1000) * 1000;
}

/** The instant a shop day 'YYYY-MM-DD' starts (its local midnight). */
export function startOfShopDay(day: string, timeZone: string): Date {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  // Twice: the offset at the guess may differ from the offset at the answer across a DST change.
  let t = guess - offsetAt(guess, timeZone);
  t = guess - offsetAt(t, timeZone);
  return new Date(t);
}

/** The calendar day after 'YYYY-MM-DD'. */
export function nextDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** Every 'YYYY-MM' from `from` to `to` inclusive. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  let [y, m] = from.split('-').map(Number) as [number, number];
  const [ty, tm] = to.split('-').map(Number) as [number, number];
  while (y < ty || (y === ty && m <= tm)) {
    out.push(`${y}-${String(m).padStart(2, '0')}`);
    m++;
    if (m > 12) {
      m = 1;
      y++;
    }
  }
  return out;
}

const DAY_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
export const MAX_PERIOD_DAYS = 3 * 366;

/** A report period: shop days `from`..`to` inclusive, and the instants [start, end) they cover. */
export interface Period {
  from: string;
  to: string;
  start: Date;
  end: Date;
  timeZone: string;
}

/**
 * Parses `from`/`to` (shop calendar days, inclusive). Missing: the last 30 days up to today.
 * Refuses a malformed day, `from` after `to`, and periods over three years.
 */
export function parsePeriod(input: { from?: string | undefined; to?: string | undefined }, now: Date, timeZone: string): Period {
  const to = input.to ?? shopDay(now, timeZone);
  const from = input.from ?? addDays(to, -29);
  for (const [name, v] of [['from', from], ['to', to]] as const) {
    if (!DAY_RE.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)) || new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) !== v) {
      throw new DomainError('validation_failed', `${name} must be a day YYYY-MM-DD`, { field: name });
    }
  }
  if (from > to) throw new DomainError('validation_failed', 'from must not be after to', { field: 'from' });
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
  if (days > MAX_PERIOD_DAYS) throw new DomainError('validation_failed', `a period covers at most ${MAX_PERIOD_DAYS} days`, { field: 'from' });
  return { from, to, start: startOfShopDay(from, timeZone), end: startOfShopDay(nextDay(to), timeZone), timeZone };
}
