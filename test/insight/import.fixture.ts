import { luhnCheckDigit } from '../../core/cards/card-number.js';

/**
 * A messy member base of 1,000 data rows, as a shop would bring it:
 *  - persons 0..899, each once, with phones written five ways (+7 (999)…, 8 999…, 89…, 7 999…, +79…);
 *  - rows 900..949 repeat persons 0..49 with nothing that disagrees (opt-ins only): merged;
 *  - rows 950..959 repeat persons 50..59 with another name: refused (duplicate_conflict);
 *  - rows 960..999 are bad in one way each (see BAD below): refused;
 *  - a blank line after row 500 (not a row).
 * Every 4th person brings an old plastic card, every 9th a balance of 10 × p points, every
 * 2nd spend/purchases/last purchase; persons 100 and 200 a level.
 */
export const PERSONS = 900;

export function personPhoneE164(p: number): string {
  return `+7999${String(1_000_000 + p).padStart(7, '0')}`;
}

function phoneAsTyped(p: number): string {
  const d = personPhoneE164(p).slice(2); // 999NNNNNNN
  const [a, b, c, e] = [d.slice(0, 3), d.slice(3, 6), d.slice(6, 8), d.slice(8)];
  switch (p % 5) {
    case 0:
      return `+7 (${a}) ${b}-${c}-${e}`;
    case 1:
      return `8 ${a} ${b} ${c} ${e}`;
    case 2:
      return `8${d}`;
    case 3:
      return `7 ${a} ${b}${c}${e}`;
    default:
      return `+7${d}`;
  }
}

export function oldCard(p: number): string | null {
  if (p % 4 !== 0) return null;
  const body = `55${String(p).padStart(9, '0')}`;
  return body + String(luhnCheckDigit(body));
}
export const balanceOf = (p: number): number | null => (p % 9 === 0 ? p * 10 : null);
export const spentOf = (p: number): number | null => (p % 2 === 0 ? 100_000 + p * 150 : null); // kopecks
export const purchasesOf = (p: number): number | null => (p % 2 === 0 ? 1 + (p % 7) : null);
const lastPurchase = (p: number): string => `${String(1 + (p % 28)).padStart(2, '0')}.${String(1 + (p % 12)).padStart(2, '0')}.2025`;
const rubles = (k: number): string => {
  const r = Math.floor(k / 100);
  return `${r >= 1000 ? `${Math.floor(r / 1000)} ${String(r % 1000).padStart(3, '0')}` : r},${String(k % 100).padStart(2, '0')}`;
};

export const HEADER = ['Телефон', 'ФИО', 'Номер карты', 'Баллы', 'Сумма покупок', 'Количество покупок', 'Дата последней покупки', 'Уровень', 'Дата согласия', 'Рассылки'];

function personRow(p: number): string[] {
  const spent = spentOf(p);
  return [
    phoneAsTyped(p),
    `Клиент ${p}`,
    oldCard(p) ?? '',
    balanceOf(p) === null ? '' : String(balanceOf(p)),
    spent === null ? '' : rubles(spent),
    purchasesOf(p) === null ? '' : String(purchasesOf(p)),
    spent === null ? '' : lastPurchase(p),
    p === 100 ? 'Золотой' : p === 200 ? 'staff' : '',
    '15.01.2024',
    '',
  ];
}

/** Each bad row and the reason it must be refused with. */
export const BAD: { cells: (p: number) => string[]; column: string; reason: string }[] = [
  { cells: (p) => ['12345', `Клиент ${p}`, '', '', '', '', '', '', '', ''], column: 'phone', reason: 'phone_invalid' },
  { cells: (p) => ['', `Клиент ${p}`, '', '', '', '', '', '', '', ''], column: 'phone', reason: 'phone_required' },
  { cells: (p) => [phoneAsTyped(p), '', '', '', '', '', '', '', '', ''], column: 'name', reason: 'name_required' },
  { cells: (p) => [phoneAsTyped(p), 'X', '', '-5', '', '', '', '', '', ''], column: 'balance', reason: 'balance_invalid' },
  { cells: (p) => [phoneAsTyped(p), 'X', '5500000000001', '', '', '', '', '', '', ''], column: 'card', reason: 'card_invalid' },
  { cells: (p) => [phoneAsTyped(p), 'X', '', '', '', '', '31.02.2024', '', '', ''], column: 'lastPurchase', reason: 'date_invalid' },
  { cells: (p) => [phoneAsTyped(p), 'X', '', '', '', '', '', 'Алмазный', '', ''], column: 'level', reason: 'level_unknown' },
  { cells: (p) => [phoneAsTyped(p), 'X', '', '', '', '', '', '', '01.01.2099', ''], column: 'consent', reason: 'date_in_future' },
  { cells: (p) => [phoneAsTyped(p), 'X', '', '', '12,345', '', '', '', '', ''], column: 'spent', reason: 'spent_invalid' },
  { cells: (p) => [phoneAsTyped(p), 'X', '', '', '', '', '', '', '', 'почта'], column: 'optIns', reason: 'opt_ins_invalid' },
];
// Bad rows use phones of persons 1000+ (never valid rows), except the card duplicate which re-uses person 0's card.

function csvCell(s: string, d: string): string {
  return /["\n]/.test(s) || s.includes(d) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The 1,000 data rows (file row = index + 2). */
export function messyRows(): string[][] {
  const rows: string[][] = [];
  for (let p = 0; p < PERSONS; p++) rows.push(personRow(p));
  for (let p = 0; p < 50; p++) {
    const r = personRow(p).map(() => '');
    r[0] = personPhoneE164(p);
    r[1] = `Клиент ${p}`;
    r[9] = 'telegram, vk';
    rows.push(r);
  }
  for (let p = 50; p < 60; p++) {
    const r = personRow(p);
    r[1] = 'Другое имя';
    rows.push(r);
  }
  for (let i = 0; i < 39; i++) rows.push(BAD[i % BAD.length]!.cells(1000 + i));
  const dup = personRow(0);
  dup[0] = personPhoneE164(1500);
  rows.push(dup);
  return rows;
}

/** The file: ';'-separated, CRLF, UTF-8 with BOM unless told otherwise; a blank line after row 500. */
export function messyCsv(opts: { delimiter?: string; bom?: boolean; rows?: string[][] } = {}): string {
  const d = opts.delimiter ?? ';';
  const lines = [HEADER, ...(opts.rows ?? messyRows())].map((r) => r.map((c) => csvCell(c, d)).join(d));
  lines.splice(501, 0, '');
  return (opts.bom === false ? '' : '\uFEFF') + lines.join('\r\n') + '\r\n';
}

/** Windows-1251 bytes of a text (Russian letters and ASCII only). */
export function toCp1251(s: string): Buffer {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 128) out.push(c);
    else if (c >= 0x410 && c <= 0x44f) out.push(c - 0x410 + 0xc0);
    else if (c === 0x401) out.push(0xa8);
    else if (c === 0x451) out.push(0xb8);
    else if (c === 0xfeff) continue;
    else throw new Error(`no cp1251 byte for ${ch}`);
  }
  return Buffer.from(out);
}
