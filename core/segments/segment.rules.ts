import { z } from 'zod';
import { DomainError } from '../shared/errors.js';
import { RFM_GROUPS } from './rfm.score.js';

/**
 * Segment rules: conditions on the audience fields combined with AND/OR groups (nested up to
 * 3 levels, 50 conditions). Compiled to a plain MongoDB filter ($and/$or/$gt/$in…), which
 * FerretDB v1 answers as well.
 */
const NUMBER_FIELDS = ['purchases', 'spentKopecks', 'earned', 'redeemed', 'expired', 'balance', 'referrals', 'contests', 'rfmR', 'rfmF', 'rfmM'] as const;
/** Days since an event: compared against now when the segment is counted. */
const AGE_FIELDS = { daysSinceLastPurchase: 'lastPurchaseAt', daysSinceJoin: 'joinedAt' } as const;
const DATE_FIELDS = ['lastPurchaseAt', 'joinedAt'] as const;
const TEXT_FIELDS = ['level', 'channel', 'rfmGroup', 'joinMonth'] as const;
const LIST_FIELDS = ['channels', 'reachable'] as const;
const FLAG_FIELDS = ['hasPass', 'imported'] as const;
export const SEGMENT_FIELDS = [...NUMBER_FIELDS, ...(Object.keys(AGE_FIELDS) as (keyof typeof AGE_FIELDS)[]), ...DATE_FIELDS, ...TEXT_FIELDS, ...LIST_FIELDS, ...FLAG_FIELDS] as const;
export const SEGMENT_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin'] as const;

const scalar = z.union([z.number(), z.string().max(100), z.boolean()]);
export const conditionSchema = z.strictObject({
  field: z.enum(SEGMENT_FIELDS),
  op: z.enum(SEGMENT_OPS),
  value: z.union([scalar, z.array(scalar).max(100)]),
});
export type Condition = z.infer<typeof conditionSchema>;
export interface RuleGroup {
  op: 'and' | 'or';
  rules: (Condition | RuleGroup)[];
}
export const ruleGroupSchema: z.ZodType<RuleGroup> = z.lazy(() =>
  z.strictObject({ op: z.enum(['and', 'or']), rules: z.array(z.union([conditionSchema, ruleGroupSchema])).min(1).max(50) }),
);

const MAX_DEPTH = 3;
const MAX_CONDITIONS = 50;
const DAY = 86_400_000;
const CMP = { gt: '$gt', gte: '$gte', lt: '$lt', lte: '$lte' } as const;
/** Older than N days means an earlier date: the comparison flips. */
const FLIP = { gt: '$lt', gte: '$lte', lt: '$gt', lte: '$gte' } as const;

function bad(message: string, path: string): never {
  throw new DomainError('validation_failed', message, { problems: [{ path, message }] });
}

function compileCondition(c: Condition, now: Date, path: string): Record<string, unknown> {
  const list = Array.isArray(c.value);
  if ((c.op === 'in' || c.op === 'nin') !== list) bad(`'${c.op}' takes ${list ? 'one value' : 'a list of values'}`, `${path}.value`);
  const values = Array.isArray(c.value) ? c.value : [c.value];
  const f = c.field;
  const isOf = (arr: readonly string[]): boolean => arr.includes(f);
  if (isOf(NUMBER_FIELDS)) {
    if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) bad(`${f} compares with numbers`, `${path}.value`);
  } else if (f in AGE_FIELDS) {
    if (!values.every((v) => typeof v === 'number' && v >= 0) || list || c.op === 'eq' || c.op === 'ne') bad(`${f} takes gt/gte/lt/lte and a number of days`, path);
    const target = AGE_FIELDS[f as keyof typeof AGE_FIELDS];
    const at = new Date(now.getTime() - (values[0] as number) * DAY);
    return { [target]: { [FLIP[c.op as keyof typeof FLIP]]: at } };
  } else if (isOf(DATE_FIELDS)) {
    const dates = values.map((v) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(v) : bad(`${f} compares with ISO dates`, `${path}.value`)));
    return compileWith(f, c.op, dates, list);
  } else if (isOf(FLAG_FIELDS)) {
    if (!values.every((v) => typeof v === 'boolean') || !['eq', 'ne'].includes(c.op)) bad(`${f} takes eq/ne and true or false`, path);
  } else {
    if (!values.every((v) => typeof v === 'string')) bad(`${f} compares with text`, `${path}.value`);
    if (isOf(LIST_FIELDS) && !['eq', 'ne', 'in', 'nin'].includes(c.op)) bad(`${f} takes eq/ne/in/nin`, `${path}.op`);
    if (f === 'rfmGroup' && !values.every((v) => (RFM_GROUPS as readonly unknown[]).includes(v))) bad(`rfmGroup is one of ${RFM_GROUPS.join(', ')}`, `${path}.value`);
  }
  return compileWith(f, c.op, values, list);
}

function compileWith(field: string, op: Condition['op'], values: unknown[], list: boolean): Record<string, unknown> {
  switch (op) {
    case 'eq':
      return { [field]: values[0] };
    case 'ne':
      return { [field]: { $ne: values[0] } };
    case 'in':
      return { [field]: { $in: values } };
    case 'nin':
      return { [field]: { $nin: values } };
    default:
      if (list) throw new DomainError('validation_failed', `'${op}' takes one value`);
      return { [field]: { [CMP[op]]: values[0] } };
  }
}

/** The rules as a MongoDB filter on the audience collection; `now` anchors "days since". */
export function compileRules(input: unknown, now: Date): Record<string, unknown> {
  const parsed = ruleGroupSchema.safeParse(input);
  if (!parsed.success) {
    throw new DomainError('validation_failed', 'invalid segment rules', { problems: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
  }
  let conditions = 0;
  const walk = (g: RuleGroup, depth: number, path: string): Record<string, unknown> => {
    if (depth > MAX_DEPTH) bad(`groups nest at most ${MAX_DEPTH} deep`, path);
    const parts = g.rules.map((r, i) => {
      if ('field' in r) {
        if (++conditions > MAX_CONDITIONS) bad(`at most ${MAX_CONDITIONS} conditions`, path);
        return compileCondition(r, now, `${path}.rules.${i}`);
      }
      return walk(r, depth + 1, `${path}.rules.${i}`);
    });
    return { [g.op === 'and' ? '$and' : '$or']: parts };
  };
  return walk(parsed.data, 1, 'rules');
}
