import { z } from 'zod';
import { MAX_RECEIPT_KOPECKS } from '../../core/purchases/purchase.input.js';
import { cardNumber, kopecks, phone, points } from './common.schema.js';

const oneCardKey = (b: { cardNumber?: string | undefined; phone?: string | undefined }) => (b.cardNumber === undefined) !== (b.phone === undefined);
const oneCardKeyError = { message: 'give exactly one of cardNumber and phone', path: ['cardNumber'] };

const amounts = {
  cardNumber: cardNumber.optional(),
  phone: phone.optional(),
  total: kopecks(`Receipt total before any discount, at most ${MAX_RECEIPT_KOPECKS} (1 000 000 ₽)`).max(MAX_RECEIPT_KOPECKS),
  discount: kopecks('Discounts other than points (promotions, coupons)').optional(),
  redeemPoints: points('Points the customer pays with (1 point = pointValueKopecks)').optional(),
};

export const quoteBody = z
  .strictObject(amounts)
  .refine(oneCardKey, oneCardKeyError)
  .describe('A receipt to price; exactly one of cardNumber and phone');

export const quoteResult = z.object({
  accrued: points('Points the purchase would earn (after discount and redeemed points)'),
  maxRedeem: points('Most points that may pay for this receipt'),
  balance: points('Current balance'),
  level: z.string().describe('Level id the accrual is computed at'),
  percent: z.number().describe('Accrual percent of that level (5 = 5%)'),
});

export const purchaseBody = z
  .strictObject({
    receiptId: z.string().min(1).max(128).describe("The till's receipt id: the idempotency key of the purchase, per store"),
    ...amounts,
    items: z.array(z.record(z.string(), z.unknown())).max(500).optional().describe('Receipt lines, stored as given (part of the idempotency check)'),
  })
  .refine(oneCardKey, oneCardKeyError)
  .describe('A receipt; exactly one of cardNumber and phone');

export const purchaseResult = z.object({
  purchaseId: z.string(),
  accrued: points('Points earned'),
  redeemed: points('Points spent on this receipt'),
  balance: points('Balance after the purchase'),
  level: z.string().describe('Level id after the purchase (spend counts towards levels)'),
});

export const refundBody = z
  .strictObject({
    refundId: z.string().min(1).max(128).describe("The till's refund id: the idempotency key of the refund, per store"),
    receiptId: z.string().min(1).max(128).describe('The receipt being (partly) refunded'),
    amount: z.int().min(1).describe('Part of the receipt returned, in kopecks (integer, > 0); the refunds of a receipt add up to at most its total minus discount'),
  })
  .describe('A (partial) refund of a receipt recorded by this store');

export const refundResult = z.object({
  clawedBack: points('Points earned on the receipt taken back now'),
  returned: points('Points spent on the receipt given back'),
  balance: points('Balance after the refund'),
  shortfall: points('Part of the clawback the balance could not cover; taken from future accruals'),
});
