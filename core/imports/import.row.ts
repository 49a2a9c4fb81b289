import { createHash } from 'node:crypto';
import { parseCardNumber } from '../cards/card-number.js';
import { startOfShopDay } from '../insight/shop-time.js';
import { normalizePhone } from '../members/phone.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { headerKey, type ImportField } from './import.columns.js';
import type { CellValue } from './import.source.js';

/** Stable reasons of a refused cell or row (the API's `errors[].reason`; README lists them). */
export const ROW_REASONS = [
  'phone_required',
  'phone_invalid',
  'name_required',
  'name_too_long',
  'card_invalid',
  'balance_invalid',
  'spent_invalid',
  'purchases_invalid',
  'date_invalid',
  'date_in_future',
  'level_unknown',
  'opt_ins_invalid',
  'duplicate_conflict',
  'card_duplicate',
  'card_taken',
  'insufficient_points',
  'member_inactive',
] as const;
export type RowReason = (typeof ROW_REASONS)[number] | 'missing_column' | 'duplicate_column';

export interface RowError {
  row: number;
  column: string;
  reason: RowReason;
}

export const OPT_IN_CHANNELS = ['telegram', 'vk', 'wallet'] as const;
export type OptInChannel = (typeof OPT_IN_CHANNELS)[number];

/** A valid row, normalized. `null` means the file did not give the value (the column is absent or the cell empty). */
export interface ImportRow {
  phone: string;
  name: string;
  card: string | null;
  balance: number | null;
  spentKopecks: number | null;
  purchases: number | null;
  lastPurchaseAt: Date | null;
  level: string | null;
  consentAt: Date | null;
  optIns: OptInChannel[] | null;
}

export const NAME_MAX = 100;
const MAX_POINTS = 1_000_000_000;
const MAX_KOPECKS = 1e15;

function text(v: CellValue): string {
  if (v === null) return '';
  if (v instanceof Date) return v.toISOString();
  return String(v).trim();
}

const empty = (v: CellValue): boolean => v === null || (typeof v === 'string' && v.trim() === '');

/** '12 345,50', '12345.5', '1 000 ₽', 12345.5 → kopecks; null when not a non-negative amount. */
export function parseRubles(v: CellValue): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 && v * 100 <= MAX_KOPECKS ? Math.round(v * 100) : null;
  const s = text(v)
    .replace(/[\s\u00A0\u202F]/g, '')
    .replace(/(₽|руб\.?|р\.|rub)$/i, '')
    .replace(',', '.');
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return null;
  const [int, frac = ''] = s.split('.') as [string, string?];
  const k = Number(int) * 100 + Number(frac.padEnd(2, '0'));
  return Number.isSafeInteger(k) && k <= MAX_KOPECKS ? k : null;
}

/** Whole non-negative number ('1 000', '1000,00', 1000) or null. */
export function parseWhole(v: CellValue, max: number): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= max ? v : null;
  const s = text(v).replace(/[\s\u00A0\u202F]/g, '').replace(/[.,]0+$/, '');
  if (!/^\d+$/.test(s)) return null;
  const n = Number(s);
  return n <= max ? n : null;
}

/** Excel counts days from 1899-12-30 (its 1900 leap-year bug included). */
const EXCEL_EPOCH = Date.UTC(1899, 11, 30);

/**
 * 'dd.mm.yyyy', 'dd/mm/yyyy', 'yyyy-mm-dd' (a time may follow), an ISO date-time, an XLSX
 * date, or an Excel day number. A day without a time is that day's start in the shop's zone.
 */
export function parseDate(v: CellValue, timeZone: string): Date | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  if (typeof v === 'number') {
    if (v < 1 || v > 100_000) return null;
    const day = new Date(EXCEL_EPOCH + Math.floor(v) * 86_400_000).toISOString().slice(0, 10);
    return new Date(startOfShopDay(day, timeZone).getTime() + Math.round((v % 1) * 86_400_000));
  }
  const s = text(v);
  let m = /^(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
  let y: number, mo: number, d: number, hh = 0, mm = 0, ss = 0;
  if (m) {
    d = Number(m[1]);
    mo = Number(m[2]);
    y = Number(m[3]);
    if ((m[3] ?? '').length === 2) y += y >= 70 ? 1900 : 2000;
    hh = Number(m[4] ?? 0);
    mm = Number(m[5] ?? 0);
    ss = Number(m[6] ?? 0);
  } else if ((m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s))) {
    y = Number(m[1]);
    mo = Number(m[2]);
    d = Number(m[3]);
  } else {
    // An ISO date-time with its zone says exactly when.
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(s)) return null;
    const t = new Date(s);
    return Number.isNaN(t.getTime()) ? null : t;
  }
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || hh > 23 || mm > 59 || ss > 59) return null;
  const day = check.toISOString().slice(0, 10);
  return new Date(startOfShopDay(day, timeZone).getTime() + ((hh * 60 + mm) * 60 + ss) * 1000);
}

const OPT_IN_WORDS = new Map<string, readonly OptInChannel[]>();
const words = (list: string[], channels: readonly OptInChannel[]): void => {
  for (const w of list) OPT_IN_WORDS.set(w, channels);
};
words(['telegram', 'tg', 'телеграм', 'телеграмм'], ['telegram']);
words(['vk', 'вк', 'вконтакте', 'vkontakte'], ['vk']);
words(['wallet', 'pass', 'кошелек', 'кошелёк'], ['wallet']);
words(['да', 'yes', 'все', 'всё', 'all', '1', 'true', '+'], OPT_IN_CHANNELS);
words(['нет', 'no', 'none', '0', 'false', '-'], []);

/** 'telegram, vk' · 'да' (all) · 'нет' (none) → the channels opted in; null when a word is unknown. */
export function parseOptIns(v: CellValue): OptInChannel[] | null {
  if (typeof v === 'boolean') return v ? [...OPT_IN_CHANNELS] : [];
  const words = text(v).toLowerCase().split(/[\s,;/|]+/).filter(Boolean);
  const out = new Set<OptInChannel>();
  for (const w of words) {
    const hit = OPT_IN_WORDS.get(w);
    if (hit === undefined) return null;
    for (const c of hit) out.add(c);
  }
  return OPT_IN_CHANNELS.filter((c) => out.has(c));
}

/** A level named by id or by its Russian or English name. */
export function findLevel(v: string, settings: ProgrammeSettings): string | null {
  const k = headerKey(v);
  for (const l of [...settings.levels, ...settings.manualLevels]) {
    if (headerKey(l.id) === k || headerKey(l.name.ru) === k || headerKey(l.name.en) === k) return l.id;
  }
  return null;
}

export type RowCells = Partial<Record<ImportField, CellValue>>;

/**
 * Validates and normalizes one row. Every problem of the row is reported (one per column);
 * a row with any problem is refused whole: nothing of it is loaded.
 */
export function normalizeRow(row: number, cells: RowCells, ctx: { settings: ProgrammeSettings; now: Date; timeZone: string }): { ok: true; value: ImportRow } | { ok: false; errors: RowError[] } {
  const errors: RowError[] = [];
  const fail = (column: ImportField, reason: RowReason): null => {
    errors.push({ row, column, reason });
    return null;
  };
  const given = (f: ImportField): boolean => !empty(cells[f] ?? null);
  const raw = (f: ImportField): CellValue => cells[f] ?? null;

  let phone: string | null = null;
  if (!given('phone')) fail('phone', 'phone_required');
  else phone = normalizePhone(text(typeof raw('phone') === 'number' ? String(raw('phone')) : raw('phone'))) ?? fail('phone', 'phone_invalid');

  const name = text(raw('name')).replace(/\s+/g, ' ');
  if (!name) fail('name', 'name_required');
  else if (name.length > NAME_MAX) fail('name', 'name_too_long');

  let card: string | null = null;
  if (given('card')) {
    const p = parseCardNumber(text(raw('card')));
    card = p.ok ? p.number : fail('card', 'card_invalid');
  }
  const balance = given('balance') ? (parseWhole(raw('balance'), MAX_POINTS) ?? fail('balance', 'balance_invalid')) : null;
  const spentKopecks = given('spent') ? (parseRubles(raw('spent')) ?? fail('spent', 'spent_invalid')) : null;
  const purchases = given('purchases') ? (parseWhole(raw('purchases'), 10_000_000) ?? fail('purchases', 'purchases_invalid')) : null;
  const date = (f: 'lastPurchase' | 'consent'): Date | null => {
    if (!given(f)) return null;
    const d = parseDate(raw(f), ctx.timeZone);
    if (!d) return fail(f, 'date_invalid');
    // A day's start is compared, so "today" is never in the future.
    if (d.getTime() > ctx.now.getTime() + 86_400_000) return fail(f, 'date_in_future');
    return d;
  };
  const lastPurchaseAt = date('lastPurchase');
  const consentAt = date('consent');
  const level = given('level') ? (findLevel(text(raw('level')), ctx.settings) ?? fail('level', 'level_unknown')) : null;
  const optIns = given('optIns') ? (parseOptIns(raw('optIns')) ?? fail('optIns', 'opt_ins_invalid')) : null;

  if (errors.length > 0 || !phone) return { ok: false, errors };
  return { ok: true, value: { phone, name, card, balance, spentKopecks, purchases, lastPurchaseAt, level, consentAt, optIns } };
}

/** Fingerprint of a normalized row: equal rows, equal prints (the re-run's `unchanged`). */
export function rowHash(r: ImportRow): string {
  const stable = [r.phone, r.name, r.card, r.balance, r.spentKopecks, r.purchases, r.lastPurchaseAt?.toISOString() ?? null, r.level, r.consentAt?.toISOString() ?? null, r.optIns];
  return createHash('sha256').update(JSON.stringify(stable)).digest('base64url').slice(0, 22);
}

/**
 * Two rows of one phone: merged when they do not disagree (each value given by at most one
 * of them, or equal in both); otherwise the columns they disagree on.
 */
export function mergeRows(a: ImportRow, b: ImportRow): { ok: true; value: ImportRow } | { ok: false; columns: ImportField[] } {
  const pairs: [ImportField, keyof ImportRow][] = [
    ['name', 'name'],
    ['card', 'card'],
    ['balance', 'balance'],
    ['spent', 'spentKopecks'],
    ['purchases', 'purchases'],
    ['lastPurchase', 'lastPurchaseAt'],
    ['level', 'level'],
    ['consent', 'consentAt'],
    ['optIns', 'optIns'],
  ];
  const out: ImportRow = { ...a };
  const conflicts: ImportField[] = [];
  for (const [column, key] of pairs) {
    const x = a[key];
    const y = b[key];
    if (y === null) continue;
    if (x === null) (out as unknown as Record<string, unknown>)[key] = y;
    else if (JSON.stringify(x) !== JSON.stringify(y)) conflicts.push(column);
  }
  return conflicts.length ? { ok: false, columns: conflicts } : { ok: true, value: out };
}
