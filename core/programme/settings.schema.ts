import { z } from 'zod';
import { DomainError } from '../shared/errors.js';

/**
 * The loyalty programme's tunable settings. Money is integer kopecks, percents are basis
 * points (1% = 100 bp), so no float ever touches a balance. Defaults follow what shops in
 * the case studies run: 3% base, then 5/10/15/20% from 5,000/10,000/15,000/40,000 ₽ spent,
 * 1 point = 1 ₽, points pay up to 100% of a receipt and expire after 6 months.
 *
 * Each top-level key is replaced whole by an admin edit (settingsPatchSchema), so the nested
 * values carry no defaults of their own: a patch of `referral` must state both its fields
 * instead of silently resetting the one it left out.
 */

const cardPrefix = z.string().regex(/^[A-Z0-9]{1,4}$/, 'must be 1–4 of A-Z 0-9');
const levelId = z.string().regex(/^[a-z0-9_-]{1,32}$/, 'must be 1–32 of a-z 0-9 _ -');
const percentBp = z.int().min(0, 'must be 0..10000 bp').max(10000, 'must be 0..10000 bp');
const kopecks = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (00:00–23:59)');
const localizedName = z.object({ ru: z.string().trim().min(1).max(60), en: z.string().trim().min(1).max(60) });

export const spendLevelSchema = z.object({ id: levelId, name: localizedName, percentBp, minSpendKopecks: kopecks });
export const manualLevelSchema = z.object({ id: levelId, name: localizedName, percentBp });

/** Every channel that issues cards; a store's own prefix (cardPrefixes.stores) wins for its till. */
export const CARD_CHANNELS = ['telegram', 'vk', 'twitch', 'console', 'till', 'admin'] as const;
export type CardChannel = (typeof CARD_CHANNELS)[number];

/** One schema per top-level key, without defaults (see the note at the top). */
const fields = {
  pointValueKopecks: z.int().min(1).max(1_000_000),
  levels: z.array(spendLevelSchema).min(1, 'at least one level is required').max(20),
  manualLevels: z.array(manualLevelSchema).max(20),
  redeemCapBp: percentBp,
  expiryMonths: z.int().min(1).max(120),
  welcomeBonus: z.int().min(0).max(1_000_000),
  referral: z.object({ bonus: z.int().min(0).max(1_000_000), monthlyCap: z.int().min(0).max(1000) }),
  cardPrefixes: z.object({
    channels: z.object(Object.fromEntries(CARD_CHANNELS.map((c) => [c, cardPrefix])) as Record<CardChannel, typeof cardPrefix>),
    // Store ids become object keys in MongoDB, where '.' and '$' are not allowed.
    stores: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'store id must be 1–64 of A-Z a-z 0-9 _ -'), cardPrefix),
  }),
  // 8..19 keeps every number (1–4 prefix + digits + 1 check digit) within the 8..24 that
  // normalizeCardNumber accepts, and 10^8 numbers per prefix at the least.
  cardRandomDigits: z.int().min(8).max(19),
  rulesUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  consentTextVersion: z.string().trim().min(1).max(32),
  // Marketing messages (broadcasts and automations): quiet hours in the shop's time zone
  // (null: none), the frequency cap per member, and the automations' switches.
  marketing: z.object({
    quietHours: z.object({ start: hhmm, end: hhmm }).nullable(),
    frequencyCap: z.object({ max: z.int().min(1).max(100), days: z.int().min(1).max(90) }),
    automations: z.object({
      expiringPoints: z.object({ enabled: z.boolean(), withinDays: z.int().min(1).max(90) }),
      weMissYou: z.object({ enabled: z.boolean(), afterDays: z.int().min(7).max(730) }),
    }),
  }),
};

/** The raw defaults; DEFAULT_SETTINGS below is these parsed, which also proves them valid at load. */
const DEFAULTS = deepFreeze({
  pointValueKopecks: 100,
  levels: [
    { id: 'base', name: { ru: 'Базовый', en: 'Base' }, percentBp: 300, minSpendKopecks: 0 },
    { id: 'silver', name: { ru: 'Серебряный', en: 'Silver' }, percentBp: 500, minSpendKopecks: 500_000 },
    { id: 'gold', name: { ru: 'Золотой', en: 'Gold' }, percentBp: 1000, minSpendKopecks: 1_000_000 },
    { id: 'platinum', name: { ru: 'Платиновый', en: 'Platinum' }, percentBp: 1500, minSpendKopecks: 1_500_000 },
    { id: 'vip', name: { ru: 'VIP', en: 'VIP' }, percentBp: 2000, minSpendKopecks: 4_000_000 },
  ],
  manualLevels: [{ id: 'staff', name: { ru: 'Сотрудник', en: 'Staff' }, percentBp: 2000 }],
  redeemCapBp: 10_000,
  expiryMonths: 6,
  welcomeBonus: 1000,
  referral: { bonus: 3000, monthlyCap: 10 },
  cardPrefixes: {
    channels: { telegram: '71', vk: '72', twitch: '73', console: '79', till: '70', admin: '70' },
    stores: {},
  },
  cardRandomDigits: 11,
  consentTextVersion: '2026-01',
  marketing: {
    quietHours: { start: '21:00', end: '09:00' },
    frequencyCap: { max: 3, days: 7 },
    automations: { expiringPoints: { enabled: true, withinDays: 14 }, weMissYou: { enabled: true, afterDays: 60 } },
  },
});

// Defaults are cloned per parse: a caller editing its settings must not reach the shared defaults.
export const settingsSchema = z
  .object({
    version: z.int().min(1).default(1),
    pointValueKopecks: fields.pointValueKopecks.default(() => structuredClone(DEFAULTS.pointValueKopecks)),
    levels: fields.levels.default(() => structuredClone(DEFAULTS.levels)),
    manualLevels: fields.manualLevels.default(() => structuredClone(DEFAULTS.manualLevels)),
    redeemCapBp: fields.redeemCapBp.default(() => structuredClone(DEFAULTS.redeemCapBp)),
    expiryMonths: fields.expiryMonths.default(() => structuredClone(DEFAULTS.expiryMonths)),
    welcomeBonus: fields.welcomeBonus.default(() => structuredClone(DEFAULTS.welcomeBonus)),
    referral: fields.referral.default(() => structuredClone(DEFAULTS.referral)),
    cardPrefixes: fields.cardPrefixes.default(() => structuredClone(DEFAULTS.cardPrefixes)),
    cardRandomDigits: fields.cardRandomDigits.default(() => structuredClone(DEFAULTS.cardRandomDigits)),
    rulesUrl: fields.rulesUrl,
    consentTextVersion: fields.consentTextVersion.default(() => structuredClone(DEFAULTS.consentTextVersion)),
    marketing: fields.marketing.default(() => structuredClone(DEFAULTS.marketing)),
  })
  .superRefine((s, ctx) => {
    // Level lookup walks the list by spend, so it must be ordered and start at zero spend.
    s.levels.forEach((level, i) => {
      if (i === 0 && level.minSpendKopecks !== 0) {
        ctx.addIssue({ code: 'custom', path: ['levels', 0, 'minSpendKopecks'], message: 'the first level must start at 0' });
      }
      const prev = s.levels[i - 1];
      if (prev && level.minSpendKopecks <= prev.minSpendKopecks) {
        ctx.addIssue({
          code: 'custom',
          path: ['levels', i, 'minSpendKopecks'],
          message: `must be greater than the previous level's (${prev.minSpendKopecks}): levels are sorted by spend, strictly ascending`,
        });
      }
    });
    // A member stores a level id; it must name one level whichever list it comes from.
    const seen = new Set<string>();
    for (const [list, items] of [['levels', s.levels], ['manualLevels', s.manualLevels]] as const) {
      items.forEach((level, i) => {
        if (seen.has(level.id)) ctx.addIssue({ code: 'custom', path: [list, i, 'id'], message: `duplicate level id '${level.id}'` });
        seen.add(level.id);
      });
    }
  });

export type ProgrammeSettings = z.output<typeof settingsSchema>;

/** Version 1 of every programme: what a fresh install runs with. Frozen: clone before editing. */
export const DEFAULT_SETTINGS: ProgrammeSettings = deepFreeze(parseSettings({ version: 1 }));

/** An admin edit: any top-level key except version; each one given replaces the whole value. */
export const settingsPatchSchema = z.strictObject({
  pointValueKopecks: fields.pointValueKopecks.optional(),
  levels: fields.levels.optional(),
  manualLevels: fields.manualLevels.optional(),
  redeemCapBp: fields.redeemCapBp.optional(),
  expiryMonths: fields.expiryMonths.optional(),
  welcomeBonus: fields.welcomeBonus.optional(),
  referral: fields.referral.optional(),
  cardPrefixes: fields.cardPrefixes.optional(),
  cardRandomDigits: fields.cardRandomDigits.optional(),
  // null removes the link; undefined (absent) leaves it as it is.
  rulesUrl: fields.rulesUrl.nullable(),
  consentTextVersion: fields.consentTextVersion.optional(),
  marketing: fields.marketing.optional(),
});

function problemsOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}

function validationError(what: string, error: z.ZodError): DomainError {
  const problems = problemsOf(error);
  return new DomainError('validation_failed', `Invalid ${what}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { problems });
}

/** Validates complete settings (missing top-level keys take defaults); throws validation_failed naming every problem. */
export function parseSettings(input: unknown): ProgrammeSettings {
  const r = settingsSchema.safeParse(input);
  if (!r.success) throw validationError('programme settings', r.error);
  return r.data;
}

/** Validates an admin edit on its own (shape, unknown keys); cross-key rules are checked by applySettingsPatch. */
export function parseSettingsPatch(input: unknown): z.output<typeof settingsPatchSchema> {
  const r = settingsPatchSchema.safeParse(input);
  if (!r.success) throw validationError('settings update', r.error);
  return r.data;
}

/** The settings `current` becomes with `patch` applied, as version `version`; fully validated. */
export function applySettingsPatch(current: ProgrammeSettings, patch: unknown, version: number): ProgrammeSettings {
  const p = parseSettingsPatch(patch);
  const merged = new Map<string, unknown>(Object.entries(current));
  merged.set('version', version);
  for (const [key, value] of Object.entries(p)) {
    if (value === null) merged.delete(key);
    else if (value !== undefined) merged.set(key, value);
  }
  return parseSettings(Object.fromEntries(merged));
}

/** Freezes settings all the way down: shared (cached, default) settings must not be edited in place. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
