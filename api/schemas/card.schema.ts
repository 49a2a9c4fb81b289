import { z } from 'zod';
import { ENTRY_TYPES, LINE_KINDS } from '../../core/ledger/ledger.types.js';
import { kopecks, localizedLevel, phone, points } from './common.schema.js';

export const cardView = z
  .object({
    number: z.string().describe('The programme card number (canonical form)'),
    maskedPhone: z.string().nullable().describe("The member's phone with all but the country code and last 4 digits hidden"),
    name: z.string().nullable().describe("The member's name"),
    balance: points('Points available'),
    level: localizedLevel,
    nextLevel: localizedLevel
      .extend({ remaining: kopecks('Spend still needed to reach it') })
      .nullable()
      .describe('The next spend level; null at the top or when a level is assigned by hand'),
    expiring: z
      .array(z.object({ date: z.string().describe('YYYY-MM-DD (UTC) the points expire on'), points: points('Points expiring that day') }))
      .describe('Points by expiry date, soonest first'),
  })
  .describe('A card as the till shows it');

export const cardByPhoneQuery = z.strictObject({ phone: phone.describe('Phone of the member; encode "+" as %2B') });

export const historyQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('Items per page, 1–100 (default 20)'),
  cursor: z.string().min(1).max(1024).optional().describe('nextCursor of the previous page; omit for the newest items'),
});

export const historyItem = z.object({
  id: z.string(),
  type: z.enum(ENTRY_TYPES).describe('What moved the points: a purchase (redeemed and accrued in one), a refund, a bonus, expiry, a manual adjustment…'),
  amount: z.int().describe('Net signed change of the balance, in points'),
  lines: z
    .array(z.object({ kind: z.enum(LINE_KINDS), points: z.int(), amount: z.int().describe('Signed change this line made') }))
    .describe('The movements of the entry in the order applied (a purchase: redemption, then accrual)'),
  balanceAfter: z.int().describe('Balance after this movement, in points'),
  at: z.string().describe('When it happened, ISO 8601'),
  receiptId: z.string().optional().describe('The receipt, for purchases and refunds'),
  refundId: z.string().optional().describe('The refund, for refunds'),
});

export const historyPage = z.object({
  items: z.array(historyItem).describe('Newest first'),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
});
