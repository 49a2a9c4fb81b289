import { z } from 'zod';

/**
 * THE one place that reads a `points.changed` event for import, segments and reports. It
 * follows docs of the ledger rewrite (one entry per card transition, `seq` = card version,
 * `counters` = the card's cumulative counters after the entry). When the event shape moves,
 * adapt this function only; everything downstream reads `InsightMovement`.
 */

export const OPERATIONS = ['purchase', 'refund', 'welcome', 'referral', 'expiry', 'adjustment', 'import', 'level'] as const;
export type Operation = (typeof OPERATIONS)[number];
export const LINE_KINDS = ['redemption', 'accrual', 'clawback', 'return', 'credit', 'debit', 'expiry'] as const;
export type LineKind = (typeof LINE_KINDS)[number];

const countersSchema = z.object({
  purchases: z.int().min(0),
  spentKopecks: z.int(),
  lastPurchaseAt: z.string().nullable(),
  earned: z.int(),
  redeemed: z.int(),
  expired: z.int(),
});

const pointsChangedSchema = z.object({
  id: z.string().min(1),
  type: z.literal('points.changed'),
  at: z.string().min(1),
  card: z.string().min(1),
  memberId: z.string().nullable(),
  data: z.object({
    entryId: z.string(),
    seq: z.int().min(0),
    operation: z.enum(OPERATIONS),
    role: z.enum(['referrer', 'invitee']).optional(),
    lines: z.array(z.object({ kind: z.enum(LINE_KINDS), points: z.int(), amount: z.int() })),
    amount: z.int(),
    balance: z.int(),
    shortfall: z.int().optional(),
    spendDeltaKopecks: z.int().default(0),
    levelFrom: z.string().optional(),
    levelTo: z.string().optional(),
    counters: countersSchema,
    ref: z.record(z.string(), z.unknown()).default({}),
  }),
});

export interface MovementCounters {
  purchases: number;
  spentKopecks: number;
  lastPurchaseAt: Date | null;
  earned: number;
  redeemed: number;
  expired: number;
}

/** A movement as the audience and report code needs it. */
export interface InsightMovement {
  eventId: string;
  at: Date;
  card: string;
  memberId: string | null;
  seq: number;
  operation: Operation;
  /** An opening balance brought by an import: not points the programme issued. */
  imported: boolean;
  role: 'referrer' | 'invitee' | null;
  /** Absolute points per line kind (what actually moved). */
  lines: Partial<Record<LineKind, number>>;
  /** Net signed change of the balance. */
  amount: number;
  balance: number;
  spendDeltaKopecks: number;
  levelTo: string | null;
  counters: MovementCounters;
  storeId: string | null;
  /** The partner whose terms a purchase ran on (a refund: its receipt's); null: the programme's own. */
  partnerId: string | null;
}

/** Reads one `points.changed` event, or null when it is another event or not in this shape. */
export function parsePointsChanged(event: unknown): InsightMovement | null {
  const r = pointsChangedSchema.safeParse(event);
  if (!r.success) return null;
  const e = r.data;
  const d = e.data;
  const lines: Partial<Record<LineKind, number>> = {};
  for (const l of d.lines) lines[l.kind] = (lines[l.kind] ?? 0) + Math.abs(l.amount);
  const reason = typeof d.ref.reason === 'string' ? d.ref.reason : '';
  const at = new Date(e.at);
  if (Number.isNaN(at.getTime())) return null;
  const last = d.counters.lastPurchaseAt ? new Date(d.counters.lastPurchaseAt) : null;
  return {
    eventId: e.id,
    at,
    card: e.card,
    memberId: e.memberId,
    seq: d.seq,
    operation: d.operation,
    // Until the ledger has an 'import' operation, the import writes adjustments whose reason names it.
    imported: d.operation === 'import' || (d.operation === 'adjustment' && reason.startsWith('import:')),
    role: d.role ?? null,
    lines,
    amount: d.amount,
    balance: d.balance,
    spendDeltaKopecks: d.spendDeltaKopecks,
    levelTo: d.levelTo ?? null,
    counters: { ...d.counters, lastPurchaseAt: last && !Number.isNaN(last.getTime()) ? last : null },
    storeId: typeof d.ref.storeId === 'string' ? d.ref.storeId : null,
    partnerId: typeof d.ref.partnerId === 'string' ? d.ref.partnerId : null,
  };
}
