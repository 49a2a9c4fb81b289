import { z } from 'zod';
import { CARD_PREFIX_RE } from '../../core/cards/card-number.js';
import { settingsPatchSchema, settingsSchema } from '../../core/programme/settings.schema.js';
import { MAX_KEY_GRACE_MINUTES } from '../../core/stores/store.repository.js';
import { localizedLevel, points } from './common.schema.js';

export const createStoreBody = z.strictObject({
  name: z.string().trim().min(1).max(120).describe('Store name'),
  cardPrefix: z.string().regex(CARD_PREFIX_RE, 'must be 1–4 of A-Z 0-9').optional().describe("Prefix of the cards this store's till issues (1–4 of A-Z 0-9)"),
  partnerId: z.string().min(1).max(64).optional().describe("The partner whose terms this store's purchases run on (404 partner_not_found if none)"),
});

export const storeSummary = z.object({
  id: z.string(),
  name: z.string(),
  keyHint: z.string().describe('First characters of the key, to tell keys apart'),
  cardPrefix: z.string().nullable(),
  partnerId: z.string().nullable(),
  active: z.boolean(),
});

export const createdStore = z.object({
  id: z.string(),
  name: z.string(),
  key: z.string().describe('The store API key: shown this once, stored only hashed. Send it as `Authorization: Bearer <key>`'),
  partnerId: z.string().nullable(),
});

export const storeList = z.object({ items: z.array(storeSummary) });

export const storeIdParams = z.strictObject({ id: z.string().min(1).max(64).describe('Store id') });
export const rotateKeyBody = z
  .strictObject({
    graceMinutes: z
      .int()
      .min(0)
      .max(MAX_KEY_GRACE_MINUTES)
      .optional()
      .describe('How long the earlier keys keep working, so tills can be switched over (default 0: they stop now)'),
  })
  .describe('Rotate the store key');
export const rotatedKey = z.object({
  storeId: z.string(),
  key: z.string().describe('The new store API key: shown this once, stored only hashed'),
  keyHint: z.string(),
  previousValidUntil: z.string().nullable().describe('Until when the earlier keys still work; null: they stopped now'),
});
export const revokedKeys = z.object({ storeId: z.string(), revoked: z.int().describe('Keys that stopped working now') });

export const settingsView = settingsSchema.describe('Programme settings; money in kopecks, percents in basis points (100 bp = 1%)');
export const settingsPatch = settingsPatchSchema.describe('Top-level keys to replace (each given key replaces its whole value); rulesUrl: null removes it');
// Loose: fastify replaces req.headers with the parsed value, which must keep every other header.
export const ifMatchHeaders = z.looseObject({
  'if-match': z.string().max(40).optional().describe('Settings version the edit is based on ("3" or 3); a newer version answers 409 concurrent_update'),
});

export const cardStatusResult = z.object({ number: z.string(), status: z.enum(['active', 'blocked']) });

export const setLevelBody = z.strictObject({
  levelId: z.string().min(1).max(32).nullable().describe('A manual level (e.g. staff) or a spend level to pin; null returns to the level by spend'),
});
export const setLevelResult = z.object({ number: z.string(), manualLevelId: z.string().nullable(), level: localizedLevel });

export const importBody = z.strictObject({
  numbers: z.array(z.string().min(1).max(64)).min(1).max(10_000).describe('Plastic card numbers the store already handed out'),
});
export const importResult = z.object({
  imported: z.int(),
  existing: z.int().describe('Already imported before'),
  invalid: z.array(z.string()).describe('Numbers refused (format or check digit); nothing stored for them'),
});

export const adjustBody = z.strictObject({
  points: z
    .int()
    .refine((n) => n !== 0, 'must not be 0')
    .describe('Points to add (> 0) or take (< 0); taking more than the balance answers insufficient_points'),
  reason: z.string().trim().min(1).max(200).describe('Why, kept in the ledger'),
  idempotencyKey: z.string().min(1).max(128).describe('The same key never moves points twice; a retry answers 200 with the first result'),
});
export const adjustResult = z.object({
  entryId: z.string(),
  amount: z.int().describe('Signed change of the balance, in points'),
  balance: points('Balance after the adjustment'),
});
