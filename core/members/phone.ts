import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export type { CountryCode };

/** Longer input is not a phone number; the bound also keeps parsing cheap on junk. */
const MAX_INPUT_LENGTH = 64;

/**
 * E.164 form ('+79991234567') of a phone typed in any usual way, or null when it is not a
 * valid number. Without a '+', the number is read as national for `defaultCountry`, so for
 * Russia '8 999 123-45-67', '79991234567' and '9991234567' all give +79991234567.
 * Extensions are refused: a member's phone identifies a person, not an office line.
 */
export function normalizePhone(input: string, defaultCountry: CountryCode = 'RU'): string | null {
  const s = input.trim();
  if (s.length === 0 || s.length > MAX_INPUT_LENGTH) return null;
  // extract: false — the whole input must be the number, not a number found inside text.
  const parsed = parsePhoneNumberFromString(s, { defaultCountry, extract: false });
  if (!parsed || parsed.ext || !parsed.isValid()) return null;
  return parsed.number;
}

/**
 * '+7 *** ***-45-67': country code and last 4 digits, for logs, receipts and admin lists
 * where a whole phone number must not appear.
 */
export function maskPhone(e164: string): string {
  const digits = e164.replace(/\D/g, '');
  const parsed = parsePhoneNumberFromString(e164.startsWith('+') ? e164 : `+${digits}`);
  const cc = parsed?.countryCallingCode;
  const last4 = digits.length >= 8 ? digits.slice(-4) : null;
  if (!cc || !last4) return '+* *** ***-**-**';
  return `+${cc} *** ***-${last4.slice(0, 2)}-${last4.slice(2)}`;
}
