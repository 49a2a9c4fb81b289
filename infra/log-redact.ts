/**
 * What may reach a log line, as plain functions over strings. Every scan here reads each
 * character a bounded number of times (no backtracking regular expressions), so a hostile
 * 16 KB URL or message costs microseconds before any authentication, not a second of CPU.
 */

/** A run with at least this many digits is treated as a phone number (a Russian mobile has 10 or 11). */
const PHONE_MIN_DIGITS = 10;
/** Percent-encodings that can sit between the digits of a phone typed into a URL: + space ( ) - */
const ENCODED_SEPARATORS = new Set(['%2b', '%20', '%28', '%29', '%2d']);
/** A bot token: `<bot id (5+ digits)>:<20+ of A-Z a-z 0-9 _ ->`. */
const TOKEN_MIN_ID = 5;
const TOKEN_MIN_SECRET = 20;
/** A URL kept in a log line is cut here: a longer one is noise or an attack. */
const URL_MAX_LOGGED = 512;
/** A path segment this long and of these characters is a capability (a pass link token, a key): never logged. */
const SECRET_SEGMENT_MIN = 32;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isWordish = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;

/** Length of a phone separator at `i` (space, + - ( ) or one of their %-encodings), else 0. */
function separatorAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  // Not '.': dotted digits are addresses and versions far more often than phones.
  if (c === 32 || c === 43 || c === 45 || c === 40 || c === 41 || c === 160) return 1;
  if (c === 37 && i + 2 < s.length && ENCODED_SEPARATORS.has(s.slice(i, i + 3).toLowerCase())) return 3;
  return 0;
}

/** End (exclusive) of a bot token's secret starting at `i`, or -1 when fewer than 20 token characters follow. */
function tokenSecretEnd(s: string, i: number): number {
  let j = i;
  while (j < s.length && isWordish(s.charCodeAt(j))) j++;
  return j - i >= TOKEN_MIN_SECRET ? j : -1;
}

/**
 * Masks phone numbers (any run of 10 or more digits, with the spaces, dashes, brackets and
 * '+' people and URLs put between them: `+79991234567`, `8 999 123-45-67`,
 * `%2B7%20(999)…`) down to `***` and their last two digits, and bot tokens to
 * `[redacted-token]`. One pass, linear in the length of the text.
 */
export function redactText(text: string): string {
  let out = '';
  let copied = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    const sep = isDigit(c) ? 0 : separatorAt(text, i);
    if (!isDigit(c) && !(sep > 0 && (c === 43 || sep === 3))) {
      i++;
      continue;
    }
    // A candidate run: digits and separators, starting at a digit or a '+' (plain or %2B).
    const start = i;
    let digits = 0;
    let pureDigits = true;
    let lastDigitEnd = i;
    let last2 = '';
    while (i < n) {
      const ch = text.charCodeAt(i);
      if (isDigit(ch)) {
        digits++;
        last2 = (last2 + text.charAt(i)).slice(-2);
        i++;
        lastDigitEnd = i;
        continue;
      }
      const len = separatorAt(text, i);
      if (len === 0) break;
      if (i > start) pureDigits = false;
      i += len;
    }
    if (digits === 0) {
      // A lone '+' or %2B: nothing to mask.
      i = Math.max(i, start + 1);
      continue;
    }
    // `<digits>:<secret>` right after the run: a bot token (the digits are its bot id).
    if (pureDigits && digits >= TOKEN_MIN_ID && lastDigitEnd === i && text.charCodeAt(i) === 58) {
      const end = tokenSecretEnd(text, i + 1);
      if (end > 0) {
        out += `${text.slice(copied, start)}[redacted-token]`;
        copied = end;
        i = end;
        continue;
      }
    }
    if (digits >= PHONE_MIN_DIGITS) {
      out += `${text.slice(copied, start)}***${last2}`;
      copied = lastDigitEnd;
    }
    // Separators after the last digit are plain text again.
    i = lastDigitEnd;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * A request URL as it may be logged: the path (phones masked, capability segments such as a
 * pass link token replaced), every query value replaced by `…` (a query carries what people
 * typed: `/cards?phone=…`), and cut at 512 characters.
 */
export function redactUrl(url: string): string {
  const cut = url.length > URL_MAX_LOGGED * 4 ? url.slice(0, URL_MAX_LOGGED * 4) : url;
  const q = cut.indexOf('?');
  const path = q < 0 ? cut : cut.slice(0, q);
  const segments = path.split('/').map((seg) => {
    let run = 0;
    for (let k = 0; k < seg.length && run < SECRET_SEGMENT_MIN; k++) run = isWordish(seg.charCodeAt(k)) ? run + 1 : 0;
    return run >= SECRET_SEGMENT_MIN ? '[redacted]' : seg;
  });
  let logged = redactText(segments.join('/'));
  if (q >= 0) {
    const keys = cut
      .slice(q + 1)
      .split('&')
      .map((pair) => pair.split('=', 1)[0] ?? '')
      .filter((k) => k !== '')
      .slice(0, 20)
      .map((k) => `${redactText(k.slice(0, 40))}=…`);
    logged += `?${keys.join('&')}`;
  }
  return logged.length > URL_MAX_LOGGED ? `${logged.slice(0, URL_MAX_LOGGED)}…(${url.length} chars)` : logged;
}

/** Error fields worth a log line; anything else an error carries (a request's payload, its parameters) stays out. */
const ERROR_FIELDS = ['type', 'code', 'error_code', 'description', 'method', 'status', 'statusCode', 'reason'] as const;

/**
 * An error as it may be logged: its class, message and stack (phones and tokens masked) and a
 * few fields that say what failed, never what was being sent. grammY's GrammyError carries the
 * whole request (`payload`: chat id and message text, one-time codes and names included) and
 * VK's APIError its `params`; neither reaches the log.
 */
export function safeError(err: unknown, depth = 0): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: redactText(String(err)).slice(0, 2000) };
  const out: Record<string, unknown> = { type: err.name, message: redactText(err.message).slice(0, 2000) };
  if (err.stack) out.stack = redactText(err.stack).slice(0, 4000);
  const fields = err as unknown as Record<string, unknown>;
  for (const f of ERROR_FIELDS) {
    const v = fields[f];
    if (typeof v === 'number' || typeof v === 'boolean') out[f] = v;
    else if (typeof v === 'string') out[f] = redactText(v).slice(0, 500);
  }
  if (err.cause !== undefined && depth < 2) out.cause = safeError(err.cause, depth + 1);
  return out;
}
