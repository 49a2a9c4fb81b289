/** What the till is told about a recorded receipt (the same on every retry). */
export interface PurchaseResult {
  purchaseId: string;
  cardNumber: string;
  accrued: number;
  redeemed: number;
  balance: number;
  level: string;
}

/** What the till is told about a recorded refund (the same on every retry). */
export interface RefundResult {
  refundId: string;
  clawedBack: number;
  returned: number;
  balance: number;
  shortfall: number;
}

export interface PurchaseInput {
  storeId: string;
  receiptId: string;
  cardNumber?: string;
  phone?: string;
  totalKopecks: number;
  discountKopecks?: number;
  redeemPoints?: number;
  items?: unknown[];
  /** The partner the authenticated store belongs to (read with the store by the till's auth). */
  partnerId?: string | null | undefined;
}

export interface RefundInput {
  storeId: string;
  refundId: string;
  receiptId: string;
  amountKopecks: number;
}

export interface Quote {
  cardNumber: string;
  balance: number;
  level: string;
  percentBp: number;
  baseKopecks: number;
  accrued: number;
  maxRedeem: number;
}

/** The ledger entry of a receipt: its id is the till's idempotency key (per store). */
export function purchaseKey(storeId: string, receiptId: string): string {
  return `purchase:${storeId}:${receiptId}`;
}

export function refundKey(storeId: string, refundId: string): string {
  return `refund:${storeId}:${refundId}`;
}
