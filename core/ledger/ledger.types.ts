/** Kinds of point movement. Every one is an append-only ledger entry. */
export const ENTRY_TYPES = [
  'accrual',
  'redemption',
  'refund_clawback',
  'refund_return',
  'welcome',
  'referral',
  'expiry',
  'adjustment',
] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

/** How a movement changes the card: add a lot, spend strictly, take what is there, or expire a lot. */
export type MovementEffect = 'credit' | 'debit' | 'clawback' | 'expire';

export interface MovementRef {
  storeId?: string;
  purchaseId?: string;
  refundId?: string;
  receiptId?: string;
  memberId?: string;
  reason?: string;
  author?: string;
}

export interface MovementRequest {
  /** Idempotency key: the same key never moves points twice. */
  key: string;
  card: string;
  type: EntryType;
  effect: MovementEffect;
  /** Points requested, a positive integer (for 'expire': the lot's points at planning time). */
  points: number;
  /** Change of cumulative spend (kopecks): + for a purchase, − for a refund. Drives the level. */
  spendDeltaKopecks?: number;
  /** For 'expire': the lot (its entry id) that ends. */
  lotId?: string;
  ref?: MovementRef;
}

export interface Lot {
  /** The entry that earned the points. */
  entryId: string;
  earnedAt: Date;
  expiresAt: Date;
  remaining: number;
}

export interface MovementResult {
  /** The signed change of the balance; the balance is the sum of these over applied entries. */
  amount: number;
  balanceAfter: number;
  /** Clawback the balance could not cover, owed from the next accruals. */
  shortfall: number;
  /** Part of a credit that paid earlier shortfall instead of the balance. */
  debtPaid: number;
  levelFrom: string;
  levelTo: string;
  lotsUsed: { entryId: string; points: number }[];
}

export interface AppliedMovement extends MovementResult {
  entryId: string;
  key: string;
  card: string;
  type: EntryType;
  /** True when this call found the movement already applied (a retry). */
  replayed: boolean;
}
