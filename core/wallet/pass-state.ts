import { createHash } from 'node:crypto';
import type { I18n } from '../i18n/i18n.js';
import { partnerLineText, type PartnerLine } from '../partners/partner.text.js';
import type { PassModel } from './wallet-models.js';
import { PASS_LANGUAGES, type LabelKey, type PassLanguage, type PassState, type TemplateDesign } from './wallet.types.js';

/** pass.strings keys → their default texts in locales/<lang>/wallet.json (logo_text and pass_description come from the model folder). */
const LABEL_I18N: Partial<Record<LabelKey, string>> = {
  balance_label: 'wallet:labels.balance',
  balance_change: 'wallet:labels.balanceChange',
  level_label: 'wallet:labels.level',
  level_change: 'wallet:labels.levelChange',
  member_label: 'wallet:labels.member',
  card_label: 'wallet:labels.card',
  offer_label: 'wallet:labels.offer',
  offer_none: 'wallet:labels.offerNone',
  rules_label: 'wallet:labels.rules',
  closed_label: 'wallet:labels.closed',
  closed_note: 'wallet:labels.closedNote',
};

export interface PassStateInput {
  serial: string;
  cardNumber: string;
  balance: number;
  level: { id: string; name: Record<PassLanguage, string> };
  memberName: string;
  /** The card's member erased their data. */
  closed?: boolean;
  rulesUrl: string | undefined;
  offer: { text: string; at: Date } | null;
  /** The partners and their terms at the member's level (the back of the pass); none: no field. */
  partners?: PartnerLine[];
  /** The model folder and the admin's design (the default template's merged under the level's). */
  model: PassModel;
  design: TemplateDesign;
  identity: { passTypeId: string; teamId: string; organizationName: string; webServiceURL: string };
  /** sha256 of the authentication token (a prefix of it goes in the state). */
  tokenHash: string;
  i18n: I18n;
}

/** `70123456789012` → `7012 3456 7890 12`: the number as people read it under the QR code. */
export function displayCardNumber(n: string): string {
  return n.replace(/(.{4})(?=.)/g, '$1 ');
}

/** Merges template designs: later ones win key by key, labels language by language. */
export function mergeDesigns(...designs: TemplateDesign[]): TemplateDesign {
  const out: TemplateDesign = {};
  for (const d of designs) {
    const { labels, ...rest } = d;
    Object.assign(out, Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)));
    if (labels) {
      out.labels = {
        ru: { ...out.labels?.ru, ...labels.ru },
        en: { ...out.labels?.en, ...labels.en },
      };
    }
  }
  return out;
}

function stringsFor(lang: PassLanguage, input: PassStateInput): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, i18nKey] of Object.entries(LABEL_I18N)) out[key] = input.i18n.t(lang, i18nKey);
  out.level_name = input.level.name[lang];
  const partners = input.partners ?? [];
  if (partners.length > 0) {
    out.partners_label = input.i18n.t(lang, 'partners:pass_label');
    out.partners_text = partners.map((p) => partnerLineText(input.i18n, lang, p)).join('\n');
  }
  // The admin's relabelling wins over the locale files.
  Object.assign(out, input.design.labels?.[lang] ?? {});
  return out;
}

/** The state of one pass, from the card, the member, the programme settings and the template. */
export function buildPassState(input: PassStateInput): PassState {
  const d = input.design;
  return {
    serial: input.serial,
    passTypeId: input.identity.passTypeId,
    teamId: input.identity.teamId,
    organizationName: input.identity.organizationName,
    webServiceURL: input.identity.webServiceURL,
    tokenId: input.tokenHash.slice(0, 16),
    model: input.model.name,
    modelHash: input.model.hash,
    colors: { background: d.backgroundColor, foreground: d.foregroundColor, label: d.labelColor },
    logoHash: d.logoPng ? createHash('sha256').update(d.logoPng).digest('hex') : null,
    // Absent without a strip, so passes of designs without one keep their state hash.
    ...(d.strip ? { strip: d.strip } : {}),
    strings: Object.fromEntries(PASS_LANGUAGES.map((l) => [l, stringsFor(l, input)])) as Record<PassLanguage, Record<string, string>>,
    cardDisplay: displayCardNumber(input.cardNumber),
    memberName: input.closed ? '' : input.memberName,
    ...(input.closed ? { closed: true } : {}),
    balance: input.balance,
    levelId: input.level.id,
    rulesUrl: input.rulesUrl ?? null,
    phones: d.phones ?? [],
    links: d.links ?? [],
    locations: d.locations ?? [],
    offer: input.offer ? { text: input.offer.text, at: new Date(input.offer.at).toISOString() } : null,
    // Absent rather than empty, so passes of a programme without partners keep their state hash.
    ...(input.partners && input.partners.length > 0 ? { partners: input.partners } : {}),
  };
}

/** JSON with object keys sorted at every level, so equal states hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function stateHash(state: PassState): string {
  return createHash('sha256').update(canonicalJson(state)).digest('hex');
}
