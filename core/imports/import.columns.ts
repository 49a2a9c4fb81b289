/**
 * The columns an import understands, and the header names (Russian or English, any case,
 * any order, spaces and punctuation ignored) that mean each. Unknown columns are ignored;
 * the phone column is required.
 */
export const IMPORT_FIELDS = ['phone', 'name', 'card', 'balance', 'spent', 'purchases', 'lastPurchase', 'level', 'consent', 'optIns'] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];

const ALIASES: Record<ImportField, string[]> = {
  phone: ['phone', 'phone number', 'mobile', 'tel', 'telephone', 'телефон', 'номер телефона', 'мобильный', 'моб телефон', 'тел'],
  name: ['name', 'full name', 'customer', 'client', 'имя', 'фио', 'клиент', 'покупатель', 'имя клиента'],
  card: ['card', 'card number', 'card no', 'old card', 'карта', 'номер карты', 'старая карта', 'номер старой карты', 'штрихкод', 'barcode'],
  balance: ['balance', 'points', 'points balance', 'bonus', 'bonuses', 'баланс', 'баллы', 'бонусы', 'баланс баллов', 'бонусный баланс', 'остаток баллов'],
  spent: ['total spent', 'spent', 'spend', 'total', 'purchases total', 'сумма покупок', 'сумма', 'потрачено', 'оборот', 'накопления', 'сумма накоплений'],
  purchases: ['purchase count', 'purchases', 'number of purchases', 'orders', 'количество покупок', 'число покупок', 'покупок', 'кол во покупок', 'покупки'],
  lastPurchase: ['last purchase', 'last purchase date', 'last order', 'дата последней покупки', 'последняя покупка', 'посл покупка'],
  level: ['level', 'tier', 'status', 'уровень', 'статус', 'уровень карты'],
  consent: ['consent', 'consent date', 'consent at', 'согласие', 'дата согласия', 'согласие на обработку', 'дата согласия на обработку пд'],
  optIns: ['opt ins', 'opt-ins', 'optins', 'channels', 'subscriptions', 'рассылки', 'подписки', 'каналы', 'согласие на рассылку'],
};

/** Lower case, ё→е, every run of non-letters and non-digits one space: 'Номер_карты ' → 'номер карты'. */
export function headerKey(s: string): string {
  return s
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replaceAll('ё', 'е')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

const BY_KEY = new Map<string, ImportField>(IMPORT_FIELDS.flatMap((f) => ALIASES[f].map((a) => [headerKey(a), f] as const)));

export interface ColumnError {
  row: number;
  column: string;
  reason: 'missing_column' | 'duplicate_column';
}

/** Column index → field (null: ignored), or the header's problems. */
export function mapHeader(cells: readonly unknown[]): { ok: true; columns: (ImportField | null)[]; names: string[] } | { ok: false; errors: ColumnError[] } {
  const names = cells.map((c) => (typeof c === 'string' || typeof c === 'number' ? String(c).trim() : c instanceof Date ? c.toISOString() : ''));
  const columns = names.map((n) => BY_KEY.get(headerKey(n)) ?? null);
  const errors: ColumnError[] = [];
  const seen = new Set<ImportField>();
  columns.forEach((f, i) => {
    if (!f) return;
    if (seen.has(f)) errors.push({ row: 1, column: names[i] ?? f, reason: 'duplicate_column' });
    seen.add(f);
  });
  if (!seen.has('phone')) errors.push({ row: 1, column: 'phone', reason: 'missing_column' });
  if (!seen.has('name')) errors.push({ row: 1, column: 'name', reason: 'missing_column' });
  return errors.length ? { ok: false, errors } : { ok: true, columns, names };
}
