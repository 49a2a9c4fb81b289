import { z } from 'zod';

const bp = z.int().min(0, 'must be 0..10000 bp').max(10000, 'must be 0..10000 bp');

/**
 * A partner's terms as an admin gives them (create, and PUT, which replaces them whole: a term
 * left out goes back to the programme's). Basis points as in the settings: 100 bp = 1%.
 */
export const partnerInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(120).describe('Partner (brand) name, shown to members'),
  percentBp: bp.optional().describe('Accrual percent for every level, in bp; 0 = no accrual; absent = the level’s own percent'),
  levelPercentBp: z
    .record(z.string().regex(/^[a-z0-9_-]{1,32}$/, 'level id'), bp)
    .optional()
    .describe('Accrual percent per level id (bp), winning over percentBp for the levels named'),
  redeemCapBp: bp.optional().describe('Most of a receipt (after discounts) points may pay, in bp; absent = the programme’s cap'),
});
