import { z } from 'zod';
import { cardNumber, phone, points } from './common.schema.js';

export const enrolBody = z
  .strictObject({
    phone,
    name: z.string().min(1).max(100).describe("The member's name (1–100 characters)"),
    consent: z.boolean().describe('The customer agreed to personal data processing (the cashier took it); false is refused with consent_required'),
    cardNumber: cardNumber
      .optional()
      .describe('The card the customer shows (e.g. in their VK chat): confirms the phone for that card\'s member instead of enrolling anyone new'),
  })
  .describe('A customer joining the programme');

export const eraseBody = z
  .strictObject({ phone: phone.optional(), cardNumber: cardNumber.optional() })
  .refine((b) => (b.phone === undefined) !== (b.cardNumber === undefined), { error: 'give exactly one of phone and cardNumber', path: ['phone'] })
  .describe('Whose data to erase: exactly one of phone and cardNumber');
export const erasedResult = z.object({ memberId: z.string(), cardNumber: z.string().nullable().describe('The card, now blocked and anonymous') });

export const enrolResult = z.object({
  memberId: z.string(),
  cardNumber: z.string(),
  balance: points('Balance (the welcome bonus on a new member)'),
  created: z.boolean().describe('false when the phone already belonged to a member: nothing new was issued'),
});
