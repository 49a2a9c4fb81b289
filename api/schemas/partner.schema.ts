import { z } from 'zod';
import { partnerInputSchema } from '../../core/partners/partner.schema.js';

export const partnerBody = partnerInputSchema.describe('A partner and its terms; PUT replaces them whole (a term left out falls back to the programme’s)');
export const partnerIdParams = z.strictObject({ id: z.string().min(1).max(64).describe('Partner id') });
export const createdPartner = z.object({ id: z.string() });
export const partnerView = z.object({
  id: z.string(),
  name: z.string(),
  percentBp: z.int().nullable().describe('Accrual for every level (bp); 0 = no accrual; null = the level’s own'),
  levelPercentBp: z.record(z.string(), z.int()).describe('Accrual per level id (bp)'),
  redeemCapBp: z.int().nullable().describe('Redemption cap (bp); null = the programme’s'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const partnerList = z.object({ items: z.array(partnerView) });
