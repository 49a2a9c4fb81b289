import { escapeHtml } from '../shared/html.js';
import type { StripFiles } from './pass-image.js';
import type { PassModel } from './wallet-models.js';
import { MAX_LOCATIONS, PASS_LANGUAGES, type PassLanguage, type PassState, type SignInput } from './wallet.types.js';

type Field = Record<string, unknown>;

/** pass.strings escaping: the format is `"key" = "value";`, so quotes, backslashes and newlines are escaped. */
export function escapeStringsValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\r', '').replaceAll('\n', '\\n');
}

/** A back field Wallet shows as a tappable link (attributedValue), with the plain URL as its value. */
function link(key: string, label: string, url: string, text: string): Field {
  return { key, label, value: url, attributedValue: `<a href="${escapeHtml(url)}">${escapeHtml(text)}</a>` };
}

function backFields(state: PassState): Field[] {
  const fields: Field[] = [
    // Always present, so that the first offer is a change of value and shows on the lock screen.
    { key: 'offer', label: 'offer_label', value: state.offer?.text ?? 'offer_none', changeMessage: '%@' },
  ];
  if (state.partners && state.partners.length > 0) fields.push({ key: 'partners', label: 'partners_label', value: 'partners_text' });
  if (state.rulesUrl) fields.push(link('rules', 'rules_label', state.rulesUrl, state.rulesUrl));
  state.phones.forEach((p, i) => fields.push({ key: `phone_${i}`, label: p.label, value: p.phone, dataDetectorTypes: ['PKDataDetectorTypePhoneNumber'] }));
  state.links.forEach((l, i) => fields.push(link(`link_${i}`, l.label, l.url, l.label)));
  return fields;
}

/**
 * pass.json of a storeCard: the balance in the header (the one field visible when passes are
 * stacked) with a change message, the level as the primary field, name and number, a QR
 * code of the card number with the number written under it, the offer and contacts on the
 * back. Labels and the level name are pass.strings keys, so Wallet shows them in the
 * phone's language.
 */
export function renderPassJson(state: PassState, model: PassModel, authenticationToken: string): Record<string, unknown> {
  const { colors } = state;
  const number = state.serial;
  if (state.closed) return closedPassJson(state, model, authenticationToken);
  return {
    ...model.passJson,
    formatVersion: 1,
    passTypeIdentifier: state.passTypeId,
    teamIdentifier: state.teamId,
    serialNumber: state.serial,
    organizationName: state.organizationName,
    description: 'pass_description',
    logoText: 'logo_text',
    authenticationToken,
    webServiceURL: state.webServiceURL,
    ...(colors.background ? { backgroundColor: colors.background } : {}),
    ...(colors.foreground ? { foregroundColor: colors.foreground } : {}),
    ...(colors.label ? { labelColor: colors.label } : {}),
    barcodes: [{ format: 'PKBarcodeFormatQR', message: number, messageEncoding: 'iso-8859-1', altText: state.cardDisplay }],
    ...(state.locations.length > 0
      ? {
          locations: state.locations.slice(0, MAX_LOCATIONS).map((l) => ({
            latitude: l.latitude,
            longitude: l.longitude,
            ...(l.relevantText ? { relevantText: l.relevantText } : {}),
          })),
        }
      : {}),
    storeCard: {
      headerFields: [{ key: 'balance', label: 'balance_label', value: state.balance, changeMessage: 'balance_change', textAlignment: 'PKTextAlignmentRight' }],
      primaryFields: [{ key: 'level', label: 'level_label', value: 'level_name', changeMessage: 'level_change' }],
      secondaryFields: [{ key: 'member', label: 'member_label', value: state.memberName }],
      auxiliaryFields: [{ key: 'card', label: 'card_label', value: state.cardDisplay }],
      backFields: backFields(state),
    },
  };
}

/**
 * The pass of a card whose member erased their data: voided (Wallet greys it out), no barcode
 * to show at a till, no name; it says the card is closed. Pushed to the devices that hold it.
 */
function closedPassJson(state: PassState, model: PassModel, authenticationToken: string): Record<string, unknown> {
  const { colors } = state;
  return {
    ...model.passJson,
    formatVersion: 1,
    passTypeIdentifier: state.passTypeId,
    teamIdentifier: state.teamId,
    serialNumber: state.serial,
    organizationName: state.organizationName,
    description: 'pass_description',
    logoText: 'logo_text',
    authenticationToken,
    webServiceURL: state.webServiceURL,
    voided: true,
    ...(colors.background ? { backgroundColor: colors.background } : {}),
    ...(colors.foreground ? { foregroundColor: colors.foreground } : {}),
    ...(colors.label ? { labelColor: colors.label } : {}),
    storeCard: {
      headerFields: [{ key: 'balance', label: 'balance_label', value: state.balance, textAlignment: 'PKTextAlignmentRight' }],
      primaryFields: [{ key: 'status', value: 'closed_label', changeMessage: '%@' }],
      auxiliaryFields: [{ key: 'card', label: 'card_label', value: state.cardDisplay }],
      backFields: [{ key: 'closed', label: 'closed_label', value: 'closed_note' }],
    },
  };
}

/** The input of a signing thread: rendered pass.json, escaped strings, the template's own logo and strip images. */
export function renderSignInput(state: PassState, model: PassModel, authenticationToken: string, logoPng: Buffer | null, strip: StripFiles | null = null): SignInput {
  const strings = Object.fromEntries(
    PASS_LANGUAGES.map((lang) => [lang, Object.fromEntries(Object.entries(state.strings[lang]).map(([k, v]) => [k, escapeStringsValue(v)]))]),
  ) as Record<PassLanguage, Record<string, string>>;
  return {
    model: model.name,
    passJson: renderPassJson(state, model, authenticationToken),
    strings,
    images: { ...(logoPng ? { 'logo.png': logoPng, 'logo@2x.png': logoPng } : {}), ...strip },
  };
}
