import { z } from 'zod';

/** Where the PassKit web service lives under PUBLIC_URL; Wallet appends /v1/… to webServiceURL. */
export const WALLET_WEB_SERVICE_PATH = '/passkit';
/** Apple shows a pass near at most 10 locations; more are ignored by Wallet, so we refuse them. */
export const MAX_LOCATIONS = 10;
export const PASS_LANGUAGES = ['ru', 'en'] as const;
export type PassLanguage = (typeof PASS_LANGUAGES)[number];

/**
 * Keys of pass.strings the templates may relabel. Their default texts are in
 * locales/<lang>/wallet.json (LABEL_KEYS in pass-state.ts maps them).
 */
export const LABEL_KEYS = [
  'logo_text',
  'pass_description',
  'balance_label',
  'balance_change',
  'level_label',
  'level_change',
  'member_label',
  'card_label',
  'offer_label',
  'offer_none',
  'rules_label',
  'closed_label',
  'closed_note',
] as const;
export type LabelKey = (typeof LABEL_KEYS)[number];

const rgb = z.string().regex(/^rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)$/, 'must be rgb(r, g, b)');
const text = (max: number) => z.string().trim().min(1).max(max);
const labels = z.partialRecord(z.enum(LABEL_KEYS), text(120));

/** What an admin can change in a template; every key is optional and falls back to the model folder. */
export const templateDesignSchema = z.strictObject({
  backgroundColor: rgb.optional(),
  foregroundColor: rgb.optional(),
  labelColor: rgb.optional(),
  /** A PNG, base64; shown at the top left. Wallet wants ≤ 160×50 points (320×100 px). */
  logoPng: z.base64().max(90_000, 'the logo must be under 64 KiB').optional(),
  /**
   * The strip image behind the level and balance: the id (sha256) of one uploaded with
   * PUT …/templates/{id}/strip (or the panel), which resizes it to Wallet's sizes.
   */
  strip: z.string().regex(/^[a-f0-9]{64}$/, 'the id of an uploaded strip image').optional(),
  labels: z.strictObject({ ru: labels.optional(), en: labels.optional() }).optional(),
  phones: z.array(z.strictObject({ label: text(60), phone: z.string().regex(/^\+?[0-9 ()-]{5,20}$/, 'a phone number') })).max(5).optional(),
  links: z.array(z.strictObject({ label: text(60), url: z.url({ protocol: /^https?$/ }) })).max(5).optional(),
  locations: z
    .array(
      z.strictObject({
        latitude: z.number().min(-90).max(90),
        longitude: z.number().min(-180).max(180),
        relevantText: text(120).optional(),
      }),
    )
    .max(MAX_LOCATIONS, `at most ${MAX_LOCATIONS} locations (Wallet ignores more)`)
    .optional(),
});
export type TemplateDesign = z.output<typeof templateDesignSchema>;

export interface PassLocation {
  latitude: number;
  longitude: number;
  relevantText?: string | undefined;
}

/**
 * Everything a pass shows, as plain data: the same state always renders the same pass, so
 * its hash keys the cache of signed passes. No secret is in it (the authentication token is
 * derived when signing; `tokenId` only changes the hash when the token changes).
 */
export interface PassState {
  serial: string;
  passTypeId: string;
  teamId: string;
  organizationName: string;
  webServiceURL: string;
  tokenId: string;
  /** The model folder (wallet-models/<model>.pass) and a hash of its files. */
  model: string;
  modelHash: string;
  colors: { background?: string | undefined; foreground?: string | undefined; label?: string | undefined };
  /** sha256 of the template's own logo, when it has one. */
  logoHash: string | null;
  /** The design's strip image (its id, a sha256), when it has one; absent otherwise. */
  strip?: string;
  strings: Record<PassLanguage, Record<string, string>>;
  cardDisplay: string;
  memberName: string;
  /** The member erased their data: the pass says the card is closed (voided, no barcode, no name). */
  closed?: boolean;
  balance: number;
  levelId: string;
  rulesUrl: string | null;
  phones: { label: string; phone: string }[];
  links: { label: string; url: string }[];
  locations: PassLocation[];
  offer: { text: string; at: string } | null;
  /** Partners and their terms at the member's level, shown on the back (absent when there are none). */
  partners?: { name: string; percentBp: number; redeemCapBp: number }[];
}

/** What a signing thread needs for one pass: rendered JSON and strings, plus the template's own images. */
export interface SignInput {
  model: string;
  passJson: Record<string, unknown>;
  strings: Record<PassLanguage, Record<string, string>>;
  images: Record<string, Uint8Array>;
}

/** Whom an offer is for: one card, a list of cards, the cards of a level, or everyone with a pass. */
export type OfferTarget =
  | { kind: 'card'; number: string }
  | { kind: 'cards'; numbers: string[] }
  | { kind: 'level'; levelId: string }
  | { kind: 'all' };

/**
 * Signs passes (a port: the signing threads of infra/wallet/pass-pool.ts implement it); the web
 * service and the wallet worker only see this interface.
 */
export interface PassGenerator {
  generate(input: SignInput): Promise<Buffer>;
  /** Passes signed so far (tests check that a cached state is not signed again). */
  readonly signed: number;
  readonly threads: number;
  close(): Promise<void>;
}
