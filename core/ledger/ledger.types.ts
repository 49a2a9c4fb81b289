/**
 * What moved points, one ledger entry per card transition. A purchase that redeems and accrues
 * is one entry with two lines, applied in one atomic card update: it happens whole or not at all.
 */
export const ENTRY_TYPES = ['purchase', 'refund', 'welcome', 'referral', 'expiry', 'adjustment', 'import', 'level'] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

/** What one line of an entry did to the balance. */
export const LINE_KINDS = ['redemption', 'accrual', 'clawback', 'return', 'credit', 'debit', 'expiry'] as const;
export type LineKind = (typeof LINE_KINDS)[number];

/** How a line changes the card: add a lot, spend strictly, take what is there, or expire a lot. */
export type MovementEffect = 'credit' | 'debit' | 'clawback' | 'expire';

/** Which side of an invitation a referral bonus went to (told apart by role, never by parsing). */
export type ReferralRole = 'referrer' | 'invitee';

export interface MovementRef {
  storeId?: string;
  receiptId?: string;
  refundId?: string;
  /** The member the movement is about (the invited friend for a referrer's bonus). */
  memberId?: string;
  reason?: string;
  author?: string;
  /** The partner whose terms a purchase ran on (and its refunds): the partner report counts by it. */
  partnerId?: string;
}

/** A line as requested: the plan turns it into an applied line. */
export interface LineRequest {
  kind: LineKind;
  effect: MovementEffect;
  /** A non-negative integer (for 'expire': ignored, the lot's remainder expires). */
  points: number;
  /** For 'expire': the lot (its earning entry id) that ends. */
  lotId?: string;
}

export interface AppliedLine {
  kind: LineKind;
  effect: MovementEffect;
  points: number;
  /** The signed change of the balance this line made. */
  amount: number;
  /** Part of a credit that paid an earlier shortfall instead of the balance. */
  debtPaid: number;
  /** Part of a clawback the balance could not cover, now owed. */
  shortfall: number;
  lotId: string | null;
  /** Expiry of the lot a credit filled, fixed when the entry was written. */
  lotExpiresAt: Date | null;
}

export interface Lot {
  /** The entry that opened the lot. */
  entryId: string;
  earnedAt: Date;
  expiresAt: Date;
  remaining: number;
}

/** A receipt, as recorded on its purchase entry (the till's idempotency key is the entry id). */
export interface PurchaseRecord {
  storeId: string;
  receiptId: string;
  bodyHash: string;
  totalKopecks: number;
  discountKopecks: number;
  redeemPoints: number;
  accrued: number;
  /** The level and percent the accrual was computed with, and the settings version. */
  levelId: string;
  percentBp: number;
  settingsVersion: number;
  baseKopecks: number;
  items: unknown[];
  /** The store's partner whose terms applied (null: the programme's), and the cap it ran with. */
  partnerId?: string | null;
  redeemCapBp?: number;
}

/** A refund, as recorded on its entry; its shares keep the receipt's refunds summing exactly. */
export interface RefundRecord {
  storeId: string;
  refundId: string;
  receiptId: string;
  /** The purchase entry refunded. */
  purchaseKey: string;
  bodyHash: string;
  amountKopecks: number;
  clawback: number;
  returned: number;
}

/** What the refunds of one receipt added up to so far (kept on the card, see ledger.plan.ts). */
export interface ReceiptRefunds {
  purchaseKey: string;
  kopecks: number;
  clawed: number;
  returned: number;
}

/** What an import says a customer did before the programme (totals from the shop's old base). */
export interface ImportedCounters {
  purchases: number;
  spentKopecks: number;
  lastPurchaseAt: Date | null;
}

/** Cumulative figures of a card, changed in the same atomic update as the balance. */
export interface CardCounters {
  purchases: number;
  spentKopecks: number;
  lastPurchaseAt: Date | null;
  earned: number;
  redeemed: number;
  expired: number;
}

export interface EntryResult {
  /** Net signed change of the balance (Σ line amounts). */
  amount: number;
  balanceAfter: number;
  debtAfter: number;
  levelFrom: string;
  levelTo: string;
  shortfall: number;
  counters: CardCounters;
}

/** A transition to write: built by a core service, planned against the card, then committed. */
export interface TransitionRequest {
  /** Idempotency key: the same key never moves points twice. */
  key: string;
  card: string;
  type: EntryType;
  lines: LineRequest[];
  /** Change of cumulative spend (kopecks): + for a purchase, − for a refund. Drives the level. */
  spendDeltaKopecks?: number;
  ref?: MovementRef;
  role?: ReferralRole;
  purchase?: PurchaseRecord;
  refund?: RefundRecord;
  /** For 'level': the hand-assigned level to set (null clears it). */
  manualLevelId?: string | null;
  /**
   * For 'import': the imported totals that now stand; the card's counters move by the
   * difference from the totals imported before, so a re-run adds nothing.
   */
  imported?: ImportedCounters;
  /**
   * Whether a blocked or replaced card takes it. Earning and spending are refused on such a
   * card; corrections (refunds, expiry, manual adjustments) still land so the books stay right.
   */
  correction?: boolean;
}

/** One point movement as the simple services ask for it (welcome, referral, adjustment, import). */
export interface MovementRequest {
  key: string;
  card: string;
  type: 'welcome' | 'referral' | 'adjustment' | 'import';
  effect: 'credit' | 'debit';
  points: number;
  ref?: MovementRef;
  role?: ReferralRole;
}

export interface AppliedMovement extends EntryResult {
  entryId: string;
  key: string;
  card: string;
  type: EntryType;
  seq: number;
  lines: AppliedLine[];
  /** True when this call found the movement already recorded (a retry). */
  replayed: boolean;
}
