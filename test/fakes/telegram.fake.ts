/**
 * A wire-level fake of the Telegram Bot API, for tests.
 *
 * The product's real grammY bot talks to it over HTTP exactly as it talks to Telegram:
 *
 *   const fake = await startFakeTelegram();
 *   const bot = new Bot(fake.token, { client: { apiRoot: fake.apiRoot } });
 *
 * Wire format: `POST|GET {apiRoot}/bot<token>/<method>` with a JSON, urlencoded or
 * multipart/form-data body (grammY sends multipart when a file is uploaded); answers are
 * `{"ok":true,"result":…}` or `{"ok":false,"error_code":…,"description":…,"parameters"?:…}`
 * with the matching HTTP status. Method names are case-insensitive, as on the real server.
 *
 * What it checks like the real server does (so tests catch real bugs):
 * - wrong token → 401 "Unauthorized"; unknown method → 404 "Not Found: method not found";
 * - parse_mode HTML / MarkdownV2 / Markdown is parsed with Telegram's rules: an unescaped `<`
 *   that does not open a supported tag, unbalanced tags, an unescaped reserved MarkdownV2
 *   character → 400 "Bad Request: can't parse entities: …"; `SentMessage.text` is the text the
 *   user sees (markup rendered), `SentMessage.raw` what the bot sent;
 * - empty text, text > 4096 / caption > 1024 characters after parsing;
 * - inline keyboards: callback_data 1–64 bytes (BUTTON_DATA_INVALID), URL buttons need a host
 *   with a dot (Telegram rejects `http://localhost:…`), Web App buttons need https;
 * - sendPhoto uploads must be an image (PNG, JPEG, GIF, WebP or BMP magic bytes), otherwise
 *   400 "Bad Request: IMAGE_PROCESS_FAILED"; empty files are refused;
 * - editMessageText / editMessageReplyMarkup / deleteMessage need a message that exists;
 *   an edit that changes nothing → 400 "message is not modified" (as on Telegram);
 *   editMessageText without reply_markup removes the inline keyboard (as on Telegram);
 * - answerCallbackQuery needs a query id that was issued and not answered yet;
 * - setMyCommands: command names 1–32 chars of [a-z0-9_];
 * - getUpdates while a webhook is set → 409; a second getUpdates while one is held → the held
 *   one gets 409 "terminated by other getUpdates request";
 * - messages to a user who called `block()` → 403 "Forbidden: bot was blocked by the user".
 *
 * - with `globalRate` (Telegram's 30 messages/s for a bot), a send past that many in the last
 *   second answers 429 "Too Many Requests: retry after 1" (parameters.retry_after), as
 *   Telegram does for bulk sends; `sendStats()` says how many were sent and refused;
 * - `deactivate(id)`: sends to that chat answer 403 "Forbidden: user is deactivated".
 *
 * What it deliberately does not check: that a chat exists (sendMessage to any chat id works),
 * per-chat rate limits (use `failNext`), webhook URL scheme/port (http://127.0.0.1 is accepted).
 *
 * Updates: `pushUpdate` and the `FakeUser` helpers queue updates. Without a webhook they are
 * served by getUpdates (offset confirms updates < offset, a negative offset keeps the last
 * -offset updates, a held long poll wakes as soon as an update is queued, `close()` answers held
 * polls with `[]`). With a webhook set (setWebhook) they are POSTed to it one at a time, in
 * order, with `X-Telegram-Bot-Api-Secret-Token`, retried (≤ 1 s apart) until the receiver
 * answers 2xx; a JSON body with `method` in the answer is executed as a webhook reply.
 *
 * Message ids increase per chat and are shared by the user's and the bot's messages, as in a
 * real private chat.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomInt } from 'node:crypto';
import type {
  BotCommand,
  InlineKeyboardButton,
  MessageEntity,
  ReplyKeyboardMarkup,
  Update,
  User,
} from 'grammy/types';

type Json = Record<string, unknown>;

/** A file that came in a multipart upload. `data` is not enumerable (kept out of dumps). */
export interface UploadedFile {
  filename: string;
  size: number;
  contentType: string | undefined;
  readonly data: Buffer;
}

export interface FakeCall {
  /** Canonical method name (e.g. 'sendMessage' even if the client wrote 'sendmessage'). */
  method: string;
  /** JSON body, or urlencoded / multipart fields (numbers, booleans and JSON values decoded; files as UploadedFile). */
  params: Record<string, unknown>;
  at: number;
  /** HTTP status the fake answered with (0 while a getUpdates is still held). */
  status: number;
  /** How the parameters came: JSON body, urlencoded body, multipart/form-data, query string only / no body. */
  encoding: 'json' | 'urlencoded' | 'multipart' | 'none';
  /** Set when the call came as the body of a webhook answer. */
  viaWebhookReply?: boolean;
}

export type ReplyMarkup = Record<string, unknown>;

export interface SentMessage {
  method: 'sendMessage' | 'sendPhoto' | 'sendDocument' | 'editMessageText';
  /** chat_id as the bot sent it (numeric strings become numbers). */
  chat_id: number | string;
  /** The new message's id; for editMessageText the edited message's id. */
  message_id: number;
  /** What the user sees: markup of parse_mode rendered away, entities decoded (sendMessage, editMessageText). */
  text?: string;
  /** Same for the caption of sendPhoto / sendDocument. */
  caption?: string;
  /** text or caption exactly as sent by the bot. */
  raw?: string;
  parse_mode?: string;
  entities?: MessageEntity[];
  /** Parsed reply_markup (inline_keyboard, keyboard, remove_keyboard or force_reply). */
  reply_markup?: ReplyMarkup;
  /** Uploaded file, or the file_id / URL string. */
  photo?: UploadedFile | string;
  document?: UploadedFile | string;
  params: Record<string, unknown>;
  at: number;
}

export interface WebhookDelivery {
  update_id: number;
  url: string;
  /** HTTP status of the receiver's answer, null when the request failed. */
  status: number | null;
  error: string | null;
  at: number;
}

export interface FakeWebhook {
  url: string | null;
  secretToken: string | null;
  allowedUpdates: string[] | null;
  /** Every delivery attempt, in order. */
  deliveries: WebhookDelivery[];
}

export interface ApiErrorSpec {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

export interface FakeTelegram {
  apiRoot: string;
  token: string;
  botId: number;
  botUsername: string;
  /** Every authorised call the bot made, in arrival order (getUpdates included). */
  calls: FakeCall[];
  /** Messages the bot sent (sendMessage/sendPhoto/sendDocument) and text edits (editMessageText), in order. */
  sent(chatId?: number | string): SentMessage[];
  /** The simulated user with this id (created on first use; later opts update the profile). */
  user(id: number, opts?: FakeUserOptions): FakeUser;
  /** Queue a raw Update (update_id assigned); returns it. */
  pushUpdate(update: Omit<Update, 'update_id'>): Update;
  /** The next `times` calls of `method` answer 429 with `retry_after` seconds; to a chat, calls before that time has passed answer 429 too. */
  failNext(method: string, times: number, retryAfter: number): void;
  /**
   * The next `times` calls of `method` answer with this error (e.g. 403, 400, 500); with
   * `chatId`, only calls to that chat count (`Infinity` times: every call to it).
   */
  failNextWith(method: string, times: number, error: ApiErrorSpec, opts?: { chatId?: number | string }): void;
  /** The account of this user id is deleted: sends to it answer 403 "Forbidden: user is deactivated". */
  deactivate(id: number): void;
  /** Messages sent and sends refused with 429 by `globalRate`, and the most sent within any one second. */
  sendStats(): { sent: number; refused429: number; maxPerSecond: number };
  /** Resolves with the first sent message (existing ones included) matching pred; rejects after timeoutMs (5000) with a dump of what was sent. */
  waitForMessage(pred: (m: SentMessage) => boolean, timeoutMs?: number): Promise<SentMessage>;
  /** Resolves with the first call (existing ones included) of `method` matching pred. */
  waitForCall(method: string, pred?: (c: FakeCall) => boolean, timeoutMs?: number): Promise<FakeCall>;
  /** The current state of a message in a chat (after edits), as Telegram would return it; undefined if unknown or deleted. */
  message(chatId: number, messageId: number): Json | undefined;
  /** Commands set by setMyCommands for this language_code ('' = default) and scope (default scope when omitted). */
  commands(opts?: { languageCode?: string; scope?: Json }): BotCommand[] | undefined;
  /** Callback query ids issued by pressButton/pushUpdate that the bot has not answered. */
  unansweredCallbacks(): string[];
  /** Updates queued and not yet confirmed (getUpdates offset) or delivered (webhook). */
  pendingUpdates(): Update[];
  webhook: FakeWebhook;
  close(): Promise<void>;
}

export interface FakeUserOptions {
  firstName?: string;
  lastName?: string;
  languageCode?: string;
  username?: string;
}

export interface FakeUser {
  id: number;
  /** The User object the bot sees in updates. */
  readonly info: User;
  /** A private-chat text message from this user. */
  sendText(text: string): Update;
  /** '/cmd payload' with a bot_command entity; `cmd` with or without the slash. */
  sendCommand(cmd: string, payload?: string): Update;
  /** message.contact; user_id is the user's own id unless opts.userId (another id: a foreign contact; null: none). */
  shareContact(phone: string, opts?: { userId?: number | null; firstName?: string }): Update;
  /**
   * A callback_query with this data. Without messageId it is attached to the newest bot
   * message whose inline keyboard has a button with this data (else the newest bot message;
   * throws when the bot sent nothing). An unknown or deleted messageId gives an inaccessible
   * message (date 0), as Telegram does.
   */
  pressButton(callbackData: string, messageId?: number): Update;
  /** Presses the callback button with this text on the newest bot message having one; throws if none. */
  pressButtonWithText(text: string): Update;
  /** The user blocks the bot: a my_chat_member update (kicked); later sends to this chat answer 403. */
  block(): Update;
  unblock(): Update;
  /** Messages (and text edits) sent to this user's chat, in order. */
  inbox(): SentMessage[];
  /** text ?? caption of the newest inbox entry having one. */
  lastText(): string | undefined;
  /** Button texts of the reply keyboard currently shown (last keyboard sent, unless removed since). */
  lastKeyboard(): string[][] | undefined;
  /** Button texts of the inline keyboard of the newest bot message (not deleted) that has one. */
  lastInlineButtons(): string[][] | undefined;
  /**
   * Resolves with the first inbox entry at or after this user's read cursor whose text ?? caption
   * matches (a string: substring; a RegExp: test), then moves the cursor past it. So each
   * message is consumed once, and messages that arrived before the call but were not consumed
   * yet count. Rejects after timeoutMs (5000) with a dump of the chat.
   */
  waitForText(re: RegExp | string, timeoutMs?: number): Promise<SentMessage>;
}

export interface FakeTelegramOptions {
  port?: number;
  /** Sends (sendMessage/sendPhoto/sendDocument) allowed per sliding second for the whole bot; past it, 429 retry_after 1. */
  globalRate?: number;
  botUsername?: string;
  botFirstName?: string;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

class ApiError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly parameters?: ApiErrorSpec['parameters'],
  ) {
    super(description);
  }
}

const badRequest = (what: string): ApiError => new ApiError(400, `Bad Request: ${what}`);

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function byteOffset(s: string, index: number): number {
  return Buffer.byteLength(s.slice(0, index), 'utf8');
}

const METHODS = [
  'getMe',
  'getUpdates',
  'sendMessage',
  'sendPhoto',
  'sendDocument',
  'editMessageText',
  'editMessageReplyMarkup',
  'answerCallbackQuery',
  'setWebhook',
  'deleteWebhook',
  'getWebhookInfo',
  'setMyCommands',
  'getMyCommands',
  'deleteMyCommands',
  'deleteMessage',
  'sendChatAction',
] as const;
const CANONICAL = new Map<string, string>(METHODS.map((m) => [m.toLowerCase(), m]));

/** Fields whose urlencoded/multipart string value is an integer on the wire. */
const INT_FIELDS = new Set([
  'chat_id',
  'message_id',
  'from_chat_id',
  'user_id',
  'message_thread_id',
  'reply_to_message_id',
  'offset',
  'limit',
  'timeout',
  'max_connections',
  'cache_time',
  'duration',
  'width',
  'height',
]);
/** Fields whose urlencoded/multipart 'true'/'false' is a boolean. */
const BOOL_FIELDS = new Set([
  'disable_notification',
  'protect_content',
  'drop_pending_updates',
  'show_alert',
  'has_spoiler',
  'disable_web_page_preview',
  'allow_sending_without_reply',
  'disable_content_type_detection',
  'show_caption_above_media',
  'allow_paid_broadcast',
]);
/** Fields never decoded from JSON, whatever they look like. */
const STRING_FIELDS = new Set(['text', 'caption', 'url', 'secret_token', 'callback_query_id', 'inline_message_id', 'parse_mode']);

function coerceField(key: string, value: string): unknown {
  if (STRING_FIELDS.has(key)) return value;
  if (INT_FIELDS.has(key) && /^-?\d+$/.test(value)) return Number(value);
  if (BOOL_FIELDS.has(key) && (value === 'true' || value === 'false')) return value === 'true';
  const t = value.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

function uploaded(filename: string, contentType: string | undefined, data: Buffer): UploadedFile {
  const f = { filename, size: data.length, contentType } as UploadedFile;
  Object.defineProperty(f, 'data', { value: data, enumerable: false });
  return f;
}

function isUploadedFile(v: unknown): v is UploadedFile {
  return isObject(v) && typeof v.filename === 'string' && typeof v.size === 'number';
}

interface MultipartPart {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  data: Buffer;
}

/** Enough multipart/form-data for Bot API clients: text fields and files (unquoted filenames too, as grammY sends them). */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const open = Buffer.from(`--${boundary}`);
  const between = Buffer.from(`\r\n--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(open);
  if (pos < 0) throw new Error('multipart body without its boundary');
  pos += open.length;
  for (;;) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing '--'
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const end = body.indexOf(between, pos);
    if (end < 0) throw new Error('multipart body is not terminated');
    const part = body.subarray(pos, end);
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd < 0) throw new Error('multipart part without headers');
    let name: string | undefined;
    let filename: string | undefined;
    let contentType: string | undefined;
    for (const line of part.subarray(0, headEnd).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const header = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (header === 'content-type') contentType = value;
      if (header !== 'content-disposition') continue;
      const n = /(?:^|;)\s*name=(?:"((?:[^"\\]|\\.)*)"|([^;]*))/i.exec(value);
      if (n) name = (n[1] ?? n[2] ?? '').trim();
      const f = /(?:^|;)\s*filename=(?:"((?:[^"\\]|\\.)*)"|(.*))$/i.exec(value);
      if (f) filename = (f[1] ?? f[2] ?? '').trim();
    }
    if (name === undefined) throw new Error('multipart part without a name');
    parts.push({ name, filename, contentType, data: part.subarray(headEnd + 4) });
    pos = end + between.length;
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Text formatting (parse_mode), modelled on TDLib's parsers

interface Rendered {
  text: string;
  entities: MessageEntity[];
}

const HTML_TAGS = new Set(['a', 'b', 'strong', 'i', 'em', 's', 'strike', 'del', 'u', 'ins', 'tg-spoiler', 'tg-emoji', 'span', 'pre', 'code', 'blockquote']);
const HTML_ENTITY_TYPES: Record<string, MessageEntity['type']> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  'tg-spoiler': 'spoiler',
  span: 'spoiler',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
};

/** Decodes &lt; &gt; &amp; &quot; and numeric entities at s[i] ('&'); undefined when there is none (the '&' is literal). */
function decodeHtmlEntity(s: string, i: number): { text: string; end: number } | undefined {
  const m = /^&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));/.exec(s.slice(i, i + 12));
  if (!m) return undefined;
  const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };
  let text: string;
  if (m[1] !== undefined) text = named[m[1]] ?? '';
  else {
    const code = m[2] !== undefined ? Number(m[2]) : parseInt(m[3] ?? '0', 16);
    if (code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
    text = String.fromCodePoint(code);
  }
  return { text, end: i + m[0].length };
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

export function parseHtml(input: string): Rendered {
  const s = input.trim();
  const fail = (what: string): ApiError => badRequest(`can't parse entities: ${what}`);
  const n = s.length;
  let out = '';
  const stack: { tag: string; attrs: Map<string, string>; start: number }[] = [];
  const entities: MessageEntity[] = [];
  let i = 0;
  while (i < n) {
    const c = s[i];
    if (c === '&') {
      const d = decodeHtmlEntity(s, i);
      if (d) {
        out += d.text;
        i = d.end;
        continue;
      }
    }
    if (c !== '<') {
      out += c ?? '';
      i++;
      continue;
    }
    const tagAt = i;
    i++;
    if (s[i] === '/') {
      i++;
      const top = stack.pop();
      if (!top) throw fail(`Unexpected end tag at byte offset ${byteOffset(s, tagAt)}`);
      let j = i;
      while (j < n && !isSpace(s[j]) && s[j] !== '>') j++;
      const name = s.slice(i, j).toLowerCase();
      while (j < n && isSpace(s[j])) j++;
      if (s[j] !== '>') throw fail(`Unclosed end tag at byte offset ${byteOffset(s, tagAt)}`);
      if (name !== '' && name !== top.tag) {
        throw fail(`Unmatched end tag at byte offset ${byteOffset(s, tagAt)}, expected "</${top.tag}>", found "</${name}>"`);
      }
      i = j + 1;
      const length = out.length - top.start;
      if (length <= 0) continue;
      const offset = top.start;
      if (top.tag === 'a') {
        const url = top.attrs.get('href') ?? '';
        if (url !== '') entities.push({ type: 'text_link', offset, length, url });
      } else if (top.tag === 'tg-emoji') {
        const id = top.attrs.get('emoji-id') ?? '';
        if (!/^\d+$/.test(id)) throw fail('Invalid custom emoji identifier specified');
        entities.push({ type: 'custom_emoji', offset, length, custom_emoji_id: id });
      } else if (top.tag === 'pre') {
        const last = entities.at(-1);
        const language = last?.type === 'code' && last.offset === offset && last.length === length ? top.attrs.get('\0language') : undefined;
        if (last?.type === 'code' && last.offset === offset && last.length === length) entities.pop();
        entities.push(language ? { type: 'pre', offset, length, language } : { type: 'pre', offset, length });
      } else if (top.tag === 'code') {
        entities.push({ type: 'code', offset, length });
        const cls = top.attrs.get('class') ?? '';
        const pre = stack.at(-1);
        if (pre?.tag === 'pre' && cls.startsWith('language-')) pre.attrs.set('\0language', cls.slice('language-'.length));
      } else if (top.tag === 'blockquote') {
        entities.push({ type: top.attrs.has('expandable') ? 'expandable_blockquote' : 'blockquote', offset, length });
      } else {
        const type = HTML_ENTITY_TYPES[top.tag];
        if (type) entities.push({ type, offset, length } as MessageEntity);
      }
      continue;
    }
    let j = i;
    while (j < n && !isSpace(s[j]) && s[j] !== '>') j++;
    if (j >= n) throw fail(`Unclosed start tag at byte offset ${byteOffset(s, tagAt)}`);
    const tag = s.slice(i, j).toLowerCase();
    if (!HTML_TAGS.has(tag)) throw fail(`Unsupported start tag "${tag}" at byte offset ${byteOffset(s, tagAt)}`);
    const attrs = new Map<string, string>();
    for (;;) {
      while (j < n && isSpace(s[j])) j++;
      if (j >= n) throw fail(`Unclosed start tag at byte offset ${byteOffset(s, tagAt)}`);
      if (s[j] === '>') {
        j++;
        break;
      }
      let k = j;
      while (k < n && !isSpace(s[k]) && !'=>/"\''.includes(s[k] ?? '')) k++;
      const attr = s.slice(j, k).toLowerCase();
      if (attr === '') throw fail(`Empty attribute name in the tag "${tag}" at byte offset ${byteOffset(s, tagAt)}`);
      j = k;
      while (j < n && isSpace(s[j])) j++;
      if (s[j] !== '=') {
        if (j >= n) throw fail(`Unclosed start tag "${tag}" at byte offset ${byteOffset(s, tagAt)}`);
        attrs.set(attr, '');
        continue;
      }
      j++;
      while (j < n && isSpace(s[j])) j++;
      if (j >= n) throw fail(`Unclosed start tag "${tag}" at byte offset ${byteOffset(s, tagAt)}`);
      let value = '';
      const q = s[j];
      if (q === '"' || q === "'") {
        j++;
        while (j < n && s[j] !== q) {
          const d = s[j] === '&' ? decodeHtmlEntity(s, j) : undefined;
          if (d) {
            value += d.text;
            j = d.end;
          } else {
            value += s[j] ?? '';
            j++;
          }
        }
        if (j < n) j++;
      } else {
        const start = j;
        while (j < n && /[A-Za-z0-9.-]/.test(s[j] ?? '')) j++;
        value = s.slice(start, j).toLowerCase();
        if (j < n && !isSpace(s[j]) && s[j] !== '>') throw fail(`Unexpected end of name token at byte offset ${byteOffset(s, j)}`);
      }
      attrs.set(attr, value);
    }
    if (tag === 'span' && attrs.get('class') !== 'tg-spoiler') {
      throw fail(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(s, tagAt)}`);
    }
    stack.push({ tag, attrs, start: out.length });
    i = j;
  }
  const open = stack.at(-1);
  if (open) throw fail(`Can't find end tag corresponding to start tag "${open.tag}"`);
  return { text: out, entities: entities.sort((a, b) => a.offset - b.offset) };
}

const MDV2_RESERVED = '_*[]()~`>#+-=|{}.!';
const MDV2_NAMES: Record<string, string> = {
  '*': 'Bold',
  _: 'Italic',
  __: 'Underline',
  '~': 'Strikethrough',
  '||': 'Spoiler',
  '[': 'TextUrl',
  '`': 'Code',
  '```': 'Pre',
};
const MDV2_TYPES: Record<string, MessageEntity['type']> = {
  '*': 'bold',
  _: 'italic',
  __: 'underline',
  '~': 'strikethrough',
  '||': 'spoiler',
  '`': 'code',
};

export function parseMarkdownV2(input: string): Rendered {
  const s = input.trim();
  const n = s.length;
  const fail = (what: string): ApiError => badRequest(`can't parse entities: ${what}`);
  let out = '';
  const entities: MessageEntity[] = [];
  const stack: { marker: string; start: number; at: number; language?: string }[] = [];
  let i = 0;
  while (i < n) {
    const c = s[i] ?? '';
    const top = stack.at(-1);
    if (c === '\\' && i + 1 < n) {
      const code = s.charCodeAt(i + 1);
      if (code > 0 && code <= 126) {
        out += s[i + 1] ?? '';
        i += 2;
        continue;
      }
    }
    if (top && (top.marker === '`' || top.marker === '```')) {
      if (s.startsWith(top.marker, i)) {
        stack.pop();
        const length = out.length - top.start;
        if (length > 0) {
          if (top.marker === '`') entities.push({ type: 'code', offset: top.start, length });
          else entities.push(top.language ? { type: 'pre', offset: top.start, length, language: top.language } : { type: 'pre', offset: top.start, length });
        }
        i += top.marker.length;
      } else {
        out += c;
        i++;
      }
      continue;
    }
    if (!MDV2_RESERVED.includes(c)) {
      out += c;
      i++;
      continue;
    }
    let marker: string | undefined;
    if (c === '*' || c === '~') marker = c;
    else if (c === '_') marker = s[i + 1] === '_' ? '__' : '_';
    else if (c === '|' && s[i + 1] === '|') marker = '||';
    else if (c === '`') marker = s.startsWith('```', i) ? '```' : '`';
    else if (c === '[') marker = '[';
    else if (c === '>' && (i === 0 || s[i - 1] === '\n')) {
      i++; // blockquote line start
      continue;
    } else if (c === ']' && top?.marker === '[') {
      if (s[i + 1] !== '(') {
        // [text] without (url) is plain text in TDLib
        stack.pop();
        i++;
        continue;
      }
      let j = i + 2;
      let url = '';
      while (j < n && s[j] !== ')') {
        if (s[j] === '\\' && j + 1 < n) j++;
        url += s[j] ?? '';
        j++;
      }
      if (j >= n) throw fail(`Can't find end of a url at byte offset ${byteOffset(s, i + 1)}`);
      stack.pop();
      const length = out.length - top.start;
      if (length > 0) entities.push({ type: 'text_link', offset: top.start, length, url });
      i = j + 1;
      continue;
    }
    if (marker === undefined) throw fail(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
    const m = marker ?? '';
    if (top && top.marker === m && m !== '[' && m !== '`' && m !== '```') {
      stack.pop();
      const length = out.length - top.start;
      const type = MDV2_TYPES[m];
      if (length > 0 && type) entities.push({ type, offset: top.start, length } as MessageEntity);
      i += m.length;
      continue;
    }
    const entry: { marker: string; start: number; at: number; language?: string } = { marker: m, start: out.length, at: i };
    i += m.length;
    if (m === '```') {
      const nl = s.indexOf('\n', i);
      const close = s.indexOf('```', i);
      if (nl >= 0 && (close < 0 || nl < close)) {
        const lang = s.slice(i, nl);
        if (lang !== '' && !/\s/.test(lang)) entry.language = lang;
        if (!/\s/.test(lang)) i = nl + 1;
      }
    }
    stack.push(entry);
  }
  const open = stack.at(-1);
  if (open) throw fail(`Can't find end of ${MDV2_NAMES[open.marker] ?? 'the'} entity at byte offset ${byteOffset(s, open.at)}`);
  return { text: out, entities: entities.sort((a, b) => a.offset - b.offset) };
}

/** Legacy 'Markdown': *bold*, _italic_, `code`, ```pre```, [text](url); no nesting. */
export function parseMarkdown(input: string): Rendered {
  const s = input.trim();
  const n = s.length;
  let out = '';
  const entities: MessageEntity[] = [];
  let i = 0;
  while (i < n) {
    const c = s[i] ?? '';
    if (c === '\\' && i + 1 < n && '_*`['.includes(s[i + 1] ?? '')) {
      out += s[i + 1] ?? '';
      i += 2;
      continue;
    }
    if (!'_*`['.includes(c)) {
      out += c;
      i++;
      continue;
    }
    const start = i;
    const marker = c === '`' && s.startsWith('```', i) ? '```' : c === '[' ? ']' : c;
    i += marker === '```' ? 3 : 1;
    const end = s.indexOf(marker, i);
    if (end < 0) throw badRequest(`can't parse entities: Can't find end of the entity starting at byte offset ${byteOffset(s, start)}`);
    const inner = s.slice(i, end);
    const offset = out.length;
    if (marker === ']') {
      const m = /^\(([^)]*)\)/.exec(s.slice(end + 1));
      out += inner;
      if (m) {
        if (inner.length > 0) entities.push({ type: 'text_link', offset, length: inner.length, url: m[1] ?? '' });
        i = end + 1 + m[0].length;
      } else i = end + 1;
      continue;
    }
    out += inner;
    const type: MessageEntity['type'] = marker === '*' ? 'bold' : marker === '_' ? 'italic' : marker === '`' ? 'code' : 'pre';
    if (inner.length > 0) entities.push({ type, offset, length: inner.length });
    i = end + marker.length;
  }
  return { text: out, entities };
}

function render(raw: string, parseMode: unknown, explicit: unknown): Rendered {
  if (Array.isArray(explicit)) return { text: raw, entities: explicit as MessageEntity[] };
  if (parseMode === undefined || parseMode === null || parseMode === '') return { text: raw.trim(), entities: [] };
  if (typeof parseMode !== 'string') throw badRequest('unsupported parse_mode');
  switch (parseMode.toLowerCase()) {
    case 'html':
      return parseHtml(raw);
    case 'markdownv2':
      return parseMarkdownV2(raw);
    case 'markdown':
      return parseMarkdown(raw);
    default:
      throw badRequest('unsupported parse_mode');
  }
}

// ---------------------------------------------------------------------------------------------
// Keyboards

function validateReplyMarkup(markup: unknown, { inlineOnly }: { inlineOnly: boolean }): ReplyMarkup | undefined {
  if (markup === undefined || markup === null) return undefined;
  let m: unknown = markup;
  if (typeof m === 'string') {
    try {
      m = JSON.parse(m) as unknown;
    } catch {
      throw badRequest("can't parse reply keyboard markup JSON object");
    }
  }
  if (!isObject(m)) throw badRequest("can't parse reply keyboard markup JSON object");
  if (Array.isArray(m.inline_keyboard)) {
    for (const row of m.inline_keyboard) {
      if (!Array.isArray(row)) throw badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object");
      for (const b of row as unknown[]) validateInlineButton(b);
    }
    return m;
  }
  if (inlineOnly) throw badRequest('inline keyboard expected');
  if (Array.isArray(m.keyboard)) {
    for (const row of m.keyboard) {
      if (!Array.isArray(row)) throw badRequest("can't parse reply keyboard markup: keyboard rows must be Arrays");
      for (const b of row as unknown[]) {
        const text = typeof b === 'string' ? b : isObject(b) ? b.text : undefined;
        if (typeof text !== 'string' || text === '') throw badRequest("can't parse keyboard button: Text must be non-empty");
      }
    }
    return m;
  }
  if (m.remove_keyboard === true || m.force_reply === true) return m;
  throw badRequest("can't parse reply keyboard markup JSON object");
}

function validateInlineButton(b: unknown): void {
  if (!isObject(b)) throw badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object");
  if (typeof b.text !== 'string' || b.text === '') throw badRequest("can't parse inline keyboard button: Text must be non-empty");
  const actions = ['callback_data', 'url', 'web_app', 'login_url', 'switch_inline_query', 'switch_inline_query_current_chat', 'switch_inline_query_chosen_chat', 'copy_text', 'callback_game', 'pay'];
  if (!actions.some((a) => b[a] !== undefined)) {
    throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
  }
  if (b.callback_data !== undefined) {
    const data = b.callback_data;
    if (typeof data !== 'string' || data === '' || Buffer.byteLength(data, 'utf8') > 64) throw badRequest('BUTTON_DATA_INVALID');
  }
  if (b.url !== undefined) {
    const url = typeof b.url === 'string' ? b.url : '';
    if (!validButtonUrl(url)) throw badRequest(`inline keyboard button URL '${url}' is invalid: Wrong HTTP URL`);
  }
  if (b.web_app !== undefined) {
    const url = isObject(b.web_app) && typeof b.web_app.url === 'string' ? b.web_app.url : '';
    if (!url.startsWith('https://')) throw badRequest(`inline keyboard button Web App URL '${url}' is invalid: Only HTTPS links are allowed`);
  }
}

function validButtonUrl(url: string): boolean {
  if (/^tg:\/\//i.test(url)) return true;
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  return u.hostname.includes('.');
}

function buttonText(b: unknown): string {
  if (typeof b === 'string') return b;
  return isObject(b) && typeof b.text === 'string' ? b.text : '';
}

function inlineRows(message: Json): InlineKeyboardButton[][] | undefined {
  const markup = message.reply_markup;
  if (!isObject(markup) || !Array.isArray(markup.inline_keyboard)) return undefined;
  return markup.inline_keyboard as InlineKeyboardButton[][];
}

// ---------------------------------------------------------------------------------------------
// Media sniffing

function imageKind(data: Buffer): { width: number; height: number } | undefined {
  if (data.length >= 24 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
  }
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return { width: 512, height: 512 };
  if (data.length >= 10 && data.subarray(0, 4).toString('latin1') === 'GIF8') return { width: data.readUInt16LE(6), height: data.readUInt16LE(8) };
  if (data.length >= 12 && data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP') return { width: 512, height: 512 };
  if (data.length >= 26 && data.subarray(0, 2).toString('latin1') === 'BM') return { width: data.readInt32LE(18), height: Math.abs(data.readInt32LE(22)) };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The server

interface StoredMessage {
  message: Json;
  fromBot: boolean;
  deleted: boolean;
}

interface ChatState {
  nextId: number;
  messages: Map<number, StoredMessage>;
  replyKeyboard: ReplyKeyboardMarkup | undefined;
  chatInstance: string;
}

interface HeldPoll {
  res: ServerResponse;
  call: FakeCall;
  limit: number;
  timer: NodeJS.Timeout;
}

interface Waiter {
  check: () => boolean;
  fail: (e: Error) => void;
  timer: NodeJS.Timeout;
}

type Answer = { status: number; body: Json };

const ok = (result: unknown, description?: string): Answer => ({
  status: 200,
  body: description === undefined ? { ok: true, result } : { ok: true, result, description },
});

function errorAnswer(e: ApiError): Answer {
  const body: Json = { ok: false, error_code: e.errorCode, description: e.description };
  if (e.parameters) body.parameters = e.parameters;
  return { status: e.errorCode, body };
}

function preview(m: SentMessage): string {
  const text = m.text ?? m.caption;
  const parts = [`#${m.message_id}`, `chat=${String(m.chat_id)}`, m.method];
  if (text !== undefined) parts.push(JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text));
  if (m.photo !== undefined) parts.push(`photo=${typeof m.photo === 'string' ? m.photo : `${m.photo.filename}(${m.photo.size} B)`}`);
  if (m.document !== undefined) parts.push(`document=${typeof m.document === 'string' ? m.document : `${m.document.filename}(${m.document.size} B)`}`);
  const markup = m.reply_markup;
  if (markup && Array.isArray(markup.keyboard)) parts.push(`keyboard=${JSON.stringify((markup.keyboard as unknown[][]).map((r) => r.map(buttonText)))}`);
  if (markup && Array.isArray(markup.inline_keyboard)) {
    parts.push(`inline=${JSON.stringify((markup.inline_keyboard as unknown[][]).map((r) => r.map((b) => (isObject(b) ? `${buttonText(b)}${typeof b.callback_data === 'string' ? `→${b.callback_data}` : ''}` : ''))))}`);
  }
  return parts.join(' ');
}

class FakeTelegramServer implements FakeTelegram {
  apiRoot = '';
  readonly botId = 123456789;
  readonly token: string;
  readonly botUsername: string;
  readonly botFirstName: string;
  readonly calls: FakeCall[] = [];
  readonly webhook: FakeWebhook = { url: null, secretToken: null, allowedUpdates: null, deliveries: [] };

  private readonly server = createServer((req, res) => {
    this.onRequest(req, res).catch((e: unknown) => {
      if (!res.headersSent) this.respond(res, { status: 500, body: { ok: false, error_code: 500, description: `Internal Server Error: ${String(e)}` } });
    });
  });
  private readonly sentLog: SentMessage[] = [];
  private readonly chats = new Map<string, ChatState>();
  private readonly users = new Map<number, FakeUserImpl>();
  private readonly blocked = new Set<number>();
  private readonly deactivated = new Set<number>();
  private readonly globalRate: number | undefined;
  /** Times (ms) of the sends accepted in the last second, for `globalRate`. */
  private recentSends: number[] = [];
  private readonly stats = { sent: 0, refused429: 0, maxPerSecond: 0 };
  private readonly channelIds = new Map<string, number>();
  private readonly queue: Update[] = [];
  private nextUpdateId = 100_000_001;
  private poll: HeldPoll | null = null;
  private readonly failures = new Map<string, { remaining: number; error: ApiErrorSpec; chat: string | undefined }[]>();
  /** Per method and chat: no call succeeds before this time (ms), after a 429 with retry_after. */
  private readonly floodUntil = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private readonly callbacks = new Map<string, boolean>(); // id → answered
  private readonly myCommands = new Map<string, BotCommand[]>();
  private readonly sleepers = new Set<() => void>();
  private delivering = false;
  private deliveryAbort: AbortController | null = null;
  private lastWebhookError: { date: number; message: string } | null = null;
  private closed = false;

  constructor(opts: FakeTelegramOptions) {
    this.token = `${this.botId}:AA${randomBytes(30).toString('base64url').slice(0, 33)}`;
    this.botUsername = opts.botUsername ?? 'loyalty_test_bot';
    this.botFirstName = opts.botFirstName ?? 'Loyalty Test Bot';
    this.globalRate = opts.globalRate;
  }

  deactivate(id: number): void {
    this.deactivated.add(id);
  }

  sendStats(): { sent: number; refused429: number; maxPerSecond: number } {
    return { ...this.stats };
  }

  /** Telegram's bulk limit for the whole bot: past `globalRate` sends in the last second, 429. */
  private globalLimit(method: string): ApiErrorSpec | undefined {
    if (!['sendmessage', 'sendphoto', 'senddocument'].includes(method.toLowerCase())) return undefined;
    const now = Date.now();
    this.recentSends = this.recentSends.filter((t) => t > now - 1000);
    if (this.globalRate !== undefined && this.recentSends.length >= this.globalRate) {
      this.stats.refused429++;
      return { error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } };
    }
    this.recentSends.push(now);
    this.stats.maxPerSecond = Math.max(this.stats.maxPerSecond, this.recentSends.length);
    return undefined;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.apiRoot = `http://127.0.0.1:${addr.port}`;
  }

  get botUser(): User {
    return { id: this.botId, is_bot: true, first_name: this.botFirstName, username: this.botUsername };
  }

  // ---- public API

  sent(chatId?: number | string): SentMessage[] {
    if (chatId === undefined) return [...this.sentLog];
    return this.sentLog.filter((m) => String(m.chat_id) === String(chatId));
  }

  user(id: number, opts?: FakeUserOptions): FakeUser {
    let u = this.users.get(id);
    if (!u) {
      u = new FakeUserImpl(this, id, opts ?? {});
      this.users.set(id, u);
    } else if (opts) u.update(opts);
    return u;
  }

  pushUpdate(update: Omit<Update, 'update_id'>): Update {
    if (this.closed) throw new Error('fake Telegram is closed');
    const full = { update_id: this.nextUpdateId++, ...update };
    this.observeUpdate(full);
    this.queue.push(full);
    this.wakePoll();
    if (this.webhook.url !== null) void this.deliverLoop();
    return full;
  }

  failNext(method: string, times: number, retryAfter: number): void {
    this.failNextWith(method, times, {
      error_code: 429,
      description: `Too Many Requests: retry after ${retryAfter}`,
      parameters: { retry_after: retryAfter },
    });
  }

  failNextWith(method: string, times: number, error: ApiErrorSpec, opts: { chatId?: number | string } = {}): void {
    const key = method.toLowerCase();
    const list = this.failures.get(key) ?? [];
    list.push({ remaining: times, error, chat: opts.chatId === undefined ? undefined : String(opts.chatId) });
    this.failures.set(key, list);
  }

  waitForMessage(pred: (m: SentMessage) => boolean, timeoutMs = 5000): Promise<SentMessage> {
    return this.waitFor(
      () => this.sentLog.find(pred),
      timeoutMs,
      () => `waitForMessage timed out after ${timeoutMs} ms. Sent so far:\n${this.dump(this.sentLog)}`,
    );
  }

  waitForCall(method: string, pred: (c: FakeCall) => boolean = () => true, timeoutMs = 5000): Promise<FakeCall> {
    const canonical = CANONICAL.get(method.toLowerCase()) ?? method;
    return this.waitFor(
      () => this.calls.find((c) => c.method === canonical && pred(c)),
      timeoutMs,
      () => `waitForCall(${canonical}) timed out after ${timeoutMs} ms. Calls so far:\n${this.calls.map((c) => `  ${c.method} ${c.status} ${JSON.stringify(c.params).slice(0, 200)}`).join('\n') || '  (none)'}`,
    );
  }

  message(chatId: number, messageId: number): Json | undefined {
    const m = this.chats.get(String(chatId))?.messages.get(messageId);
    return m && !m.deleted ? structuredClone(m.message) : undefined;
  }

  commands(opts: { languageCode?: string; scope?: Json } = {}): BotCommand[] | undefined {
    return this.myCommands.get(this.commandsKey(opts.scope, opts.languageCode));
  }

  unansweredCallbacks(): string[] {
    return [...this.callbacks].filter(([, answered]) => !answered).map(([id]) => id);
  }

  pendingUpdates(): Update[] {
    return [...this.queue];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.poll) this.answerPoll(this.poll, ok([]));
    this.deliveryAbort?.abort();
    for (const wake of this.sleepers) wake();
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.fail(new Error('fake Telegram closed while waiting'));
    }
    this.waiters.clear();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => this.server.closeAllConnections(), 200);
      this.server.close(() => {
        clearTimeout(force);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }

  // ---- internals used by FakeUserImpl

  chatState(chatId: number | string): ChatState {
    const key = String(chatId);
    let s = this.chats.get(key);
    if (!s) {
      s = { nextId: 1, messages: new Map(), replyKeyboard: undefined, chatInstance: String(randomInt(1, 2 ** 47) * -1) };
      this.chats.set(key, s);
    }
    return s;
  }

  chatFor(chatId: number | string): Json {
    const u = typeof chatId === 'number' ? this.users.get(chatId) : undefined;
    if (u) return u.chat();
    if (typeof chatId === 'string') {
      let id = this.channelIds.get(chatId);
      if (id === undefined) {
        id = -1_001_000_000_000 - this.channelIds.size;
        this.channelIds.set(chatId, id);
      }
      return { id, type: 'channel', title: chatId, username: chatId.replace(/^@/, '') };
    }
    if (chatId > 0) return { id: chatId, type: 'private', first_name: `User ${chatId}` };
    return { id: chatId, type: chatId < -1_000_000_000_000 ? 'supergroup' : 'group', title: `Chat ${chatId}` };
  }

  isBlocked(id: number): boolean {
    return this.blocked.has(id);
  }

  setBlocked(id: number, blocked: boolean): void {
    if (blocked) this.blocked.add(id);
    else this.blocked.delete(id);
  }

  issueCallbackId(): string {
    const id = `${randomInt(1, 2 ** 47)}${randomInt(100000, 999999)}`;
    this.callbacks.set(id, false);
    return id;
  }

  newestBotMessage(chatId: number, pred: (m: Json) => boolean): StoredMessage | undefined {
    const s = this.chats.get(String(chatId));
    if (!s) return undefined;
    let best: StoredMessage | undefined;
    for (const m of s.messages.values()) {
      if (!m.fromBot || m.deleted || !pred(m.message)) continue;
      if (!best || (m.message.message_id as number) > (best.message.message_id as number)) best = m;
    }
    return best;
  }

  waitFor<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    const first = probe();
    if (first !== undefined) return Promise.resolve(first);
    if (this.closed) return Promise.reject(new Error('fake Telegram is closed'));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          const v = probe();
          if (v === undefined) return false;
          resolve(v);
          return true;
        },
        fail: reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(describe()));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  dump(list: SentMessage[]): string {
    return list.length === 0 ? '  (nothing)' : list.map((m, i) => `  [${i}] ${preview(m)}`).join('\n');
  }

  // ---- HTTP

  private respond(res: ServerResponse, answer: Answer): void {
    if (res.writableEnded || res.destroyed) return;
    const body = JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const m = /^\/bot([^/]*)\/([^/]+)\/?$/.exec(url.pathname);
    if (!m) {
      req.resume();
      this.respond(res, { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } });
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (m[1] !== this.token) {
      this.respond(res, { status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } });
      return;
    }
    const rawMethod = decodeURIComponent(m[2] ?? '');
    const method = CANONICAL.get(rawMethod.toLowerCase()) ?? rawMethod;
    let params: Json;
    let encoding: FakeCall['encoding'];
    try {
      ({ params, encoding } = this.parseParams(req.headers['content-type'], Buffer.concat(chunks), url.searchParams));
    } catch (e) {
      this.respond(res, errorAnswer(badRequest(`can't parse request: ${e instanceof Error ? e.message : String(e)}`)));
      return;
    }
    const call: FakeCall = { method, params, at: Date.now(), status: 0, encoding };
    this.calls.push(call);
    if (method === 'getUpdates') {
      const failure = this.takeFailure(method);
      if (failure) {
        const answer = errorAnswer(new ApiError(failure.error_code, failure.description, failure.parameters));
        call.status = answer.status;
        this.respond(res, answer);
      } else this.getUpdates(params, res, call);
      this.notify();
      return;
    }
    const answer = this.invoke(method, params, call);
    this.respond(res, answer);
  }

  private parseParams(contentType: string | undefined, body: Buffer, query: URLSearchParams): { params: Json; encoding: FakeCall['encoding'] } {
    const params: Json = {};
    for (const [k, v] of query) params[k] = coerceField(k, v);
    const type = (contentType ?? '').toLowerCase();
    let encoding: FakeCall['encoding'] = 'none';
    if (body.length === 0) return { params, encoding };
    if (type.startsWith('application/json')) {
      encoding = 'json';
      const parsed = JSON.parse(body.toString('utf8')) as unknown;
      if (!isObject(parsed)) throw new Error('JSON body must be an object');
      Object.assign(params, parsed);
    } else if (type.startsWith('application/x-www-form-urlencoded')) {
      encoding = 'urlencoded';
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params[k] = coerceField(k, v);
    } else if (type.startsWith('multipart/form-data')) {
      encoding = 'multipart';
      const b = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
      const boundary = b?.[1] ?? b?.[2];
      if (!boundary) throw new Error('multipart without boundary');
      const files = new Map<string, UploadedFile>();
      for (const part of parseMultipart(body, boundary)) {
        if (part.filename !== undefined) files.set(part.name, uploaded(part.filename, part.contentType, Buffer.from(part.data)));
        else params[part.name] = coerceField(part.name, part.data.toString('utf8'));
      }
      const attached = new Set<string>();
      const resolve = (v: unknown): unknown => {
        if (typeof v === 'string' && v.startsWith('attach://')) {
          const name = v.slice('attach://'.length);
          const f = files.get(name);
          if (f) {
            attached.add(name);
            return f;
          }
          return v;
        }
        if (Array.isArray(v)) return v.map(resolve);
        if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
        return v;
      };
      for (const [k, v] of Object.entries(params)) params[k] = resolve(v);
      for (const [name, f] of files) if (!attached.has(name) && params[name] === undefined) params[name] = f;
    } else {
      throw new Error(`unsupported content-type ${JSON.stringify(contentType ?? '')}`);
    }
    if (typeof params.chat_id === 'string' && /^-?\d+$/.test(params.chat_id)) params.chat_id = Number(params.chat_id);
    return { params, encoding };
  }

  private takeFailure(method: string, chatId?: unknown): ApiErrorSpec | undefined {
    const chat = typeof chatId === 'number' || typeof chatId === 'string' ? String(chatId) : undefined;
    const key = method.toLowerCase();
    // As Telegram does for a chat: until a 429's retry_after has passed, sending there answers 429 again.
    const floodKey = chat === undefined ? null : `${key}:${chat}`;
    const until = floodKey ? (this.floodUntil.get(floodKey) ?? 0) : 0;
    if (Date.now() < until) {
      const left = Math.ceil((until - Date.now()) / 1000);
      return { error_code: 429, description: `Too Many Requests: retry after ${left}`, parameters: { retry_after: left } };
    }
    const list = this.failures.get(key) ?? [];
    const at = list.findIndex((f) => f.chat === undefined || f.chat === chat);
    const head = list[at];
    if (!head) return undefined;
    head.remaining--;
    if (head.remaining <= 0) list.splice(at, 1);
    const retryAfter = head.error.parameters?.retry_after;
    if (floodKey && head.error.error_code === 429 && typeof retryAfter === 'number') this.floodUntil.set(floodKey, Date.now() + retryAfter * 1000);
    return head.error;
  }

  /** Runs one API call (HTTP or webhook reply) and records its status. */
  private invoke(method: string, params: Json, call: FakeCall): Answer {
    let answer: Answer;
    const failure = this.takeFailure(method, params.chat_id) ?? this.globalLimit(method);
    if (failure) {
      answer = errorAnswer(new ApiError(failure.error_code, failure.description, failure.parameters));
    } else {
      try {
        answer = this.dispatch(method, params);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        answer = errorAnswer(e);
      }
    }
    call.status = answer.status;
    this.notify();
    return answer;
  }

  private dispatch(method: string, p: Json): Answer {
    switch (method) {
      case 'getMe':
        return ok({
          ...this.botUser,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
          can_connect_to_business: false,
          has_main_web_app: false,
        });
      case 'sendMessage':
        return this.sendMessage(p);
      case 'sendPhoto':
        return this.sendMedia('sendPhoto', 'photo', p);
      case 'sendDocument':
        return this.sendMedia('sendDocument', 'document', p);
      case 'editMessageText':
        return this.editMessageText(p);
      case 'editMessageReplyMarkup':
        return this.editMessageReplyMarkup(p);
      case 'deleteMessage':
        return this.deleteMessage(p);
      case 'answerCallbackQuery':
        return this.answerCallbackQuery(p);
      case 'sendChatAction':
        return this.sendChatAction(p);
      case 'setWebhook':
        return this.setWebhook(p);
      case 'deleteWebhook': {
        const had = this.webhook.url !== null;
        this.webhook.url = null;
        this.webhook.secretToken = null;
        this.webhook.allowedUpdates = null;
        this.deliveryAbort?.abort();
        if (p.drop_pending_updates === true) this.queue.length = 0;
        return ok(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
      }
      case 'getWebhookInfo': {
        const info: Json = { url: this.webhook.url ?? '', has_custom_certificate: false, pending_update_count: this.queue.length };
        if (this.webhook.url !== null) info.max_connections = 40;
        if (this.webhook.allowedUpdates) info.allowed_updates = this.webhook.allowedUpdates;
        if (this.lastWebhookError) {
          info.last_error_date = this.lastWebhookError.date;
          info.last_error_message = this.lastWebhookError.message;
        }
        return ok(info);
      }
      case 'setMyCommands':
        return this.setMyCommands(p);
      case 'getMyCommands':
        return ok(this.myCommands.get(this.commandsKey(isObject(p.scope) ? p.scope : undefined, p.language_code)) ?? []);
      case 'deleteMyCommands':
        this.myCommands.delete(this.commandsKey(isObject(p.scope) ? p.scope : undefined, p.language_code));
        return ok(true);
      default:
        return { status: 404, body: { ok: false, error_code: 404, description: 'Not Found: method not found' } };
    }
  }

  // ---- getUpdates

  private getUpdates(p: Json, res: ServerResponse, call: FakeCall): void {
    const answer = (a: Answer): void => {
      call.status = a.status;
      this.respond(res, a);
    };
    if (this.webhook.url !== null) {
      answer(errorAnswer(new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")));
      return;
    }
    const int = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : d);
    const offset = int(p.offset, 0);
    const limit = Math.min(100, Math.max(1, int(p.limit, 100)));
    const timeout = Math.max(0, int(p.timeout, 0));
    if (offset > 0) {
      while (this.queue.length > 0 && (this.queue[0]?.update_id ?? 0) < offset) this.queue.shift();
    } else if (offset < 0) {
      this.queue.splice(0, Math.max(0, this.queue.length + offset));
    }
    if (this.poll) {
      this.answerPoll(this.poll, errorAnswer(new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running')));
    }
    if (this.queue.length > 0 || timeout === 0 || this.closed) {
      answer(ok(this.queue.slice(0, limit)));
      return;
    }
    const poll: HeldPoll = {
      res,
      call,
      limit,
      timer: setTimeout(() => this.answerPoll(poll, ok([])), timeout * 1000),
    };
    this.poll = poll;
    res.on('close', () => {
      if (this.poll === poll) {
        clearTimeout(poll.timer);
        this.poll = null;
      }
    });
  }

  private answerPoll(poll: HeldPoll, a: Answer): void {
    clearTimeout(poll.timer);
    if (this.poll === poll) this.poll = null;
    poll.call.status = a.status;
    this.respond(poll.res, a);
  }

  private wakePoll(): void {
    if (this.poll && this.queue.length > 0) this.answerPoll(this.poll, ok(this.queue.slice(0, this.poll.limit)));
  }

  /** Registers what an update implies: message ids in use, callback ids issued. */
  private observeUpdate(u: Update): void {
    const msgs = [u.message, u.edited_message, u.channel_post, u.business_message];
    for (const msg of msgs) {
      if (!msg) continue;
      const s = this.chatState(msg.chat.id);
      if (msg.message_id >= s.nextId) s.nextId = msg.message_id + 1;
      if (u.message === msg || u.channel_post === msg) s.messages.set(msg.message_id, { message: msg as unknown as Json, fromBot: false, deleted: false });
    }
    if (u.callback_query && !this.callbacks.has(u.callback_query.id)) this.callbacks.set(u.callback_query.id, false);
  }

  // ---- webhook delivery

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        this.sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private async deliverLoop(): Promise<void> {
    if (this.delivering) return;
    this.delivering = true;
    let attempt = 0;
    try {
      while (!this.closed && this.webhook.url !== null && this.queue.length > 0) {
        const update = this.queue[0];
        if (!update) break;
        const url = this.webhook.url;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (this.webhook.secretToken !== null) headers['x-telegram-bot-api-secret-token'] = this.webhook.secretToken;
        const ac = new AbortController();
        this.deliveryAbort = ac;
        const delivery: WebhookDelivery = { update_id: update.update_id, url, status: null, error: null, at: Date.now() };
        let reply: unknown;
        try {
          const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(update), signal: ac.signal });
          delivery.status = r.status;
          const text = await r.text();
          if (r.ok) {
            if (text.trim().startsWith('{')) {
              try {
                reply = JSON.parse(text) as unknown;
              } catch {
                reply = undefined;
              }
            }
          } else delivery.error = `Wrong response from the webhook: ${r.status} ${r.statusText}`;
        } catch (e) {
          delivery.error = e instanceof Error ? (e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message) : String(e);
        } finally {
          this.deliveryAbort = null;
        }
        this.webhook.deliveries.push(delivery);
        if (delivery.error === null) {
          if (this.queue[0] === update) this.queue.shift();
          attempt = 0;
          if (isObject(reply) && typeof reply.method === 'string') {
            const { method: raw, ...params } = reply;
            const method = CANONICAL.get(raw.toLowerCase()) ?? raw;
            const call: FakeCall = { method, params, at: Date.now(), status: 0, encoding: 'json', viaWebhookReply: true };
            this.calls.push(call);
            this.invoke(method, params, call);
          }
          this.notify();
        } else {
          if (this.closed) break;
          this.lastWebhookError = { date: nowSeconds(), message: delivery.error };
          attempt++;
          this.notify();
          await this.sleep(Math.min(1000, 50 * 2 ** attempt));
        }
      }
    } finally {
      this.delivering = false;
    }
  }

  private setWebhook(p: Json): Answer {
    const url = typeof p.url === 'string' ? p.url.trim() : undefined;
    if (url === undefined) throw badRequest('bad webhook: Webhook URL is empty');
    if (url === '') {
      this.webhook.url = null;
      this.webhook.secretToken = null;
      return ok(true, 'Webhook was deleted');
    }
    try {
      const u = new URL(url);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
    } catch {
      throw badRequest('bad webhook: Failed to resolve host: Name or service not known');
    }
    const secret = p.secret_token;
    if (secret !== undefined && (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(secret))) {
      throw badRequest('secret token contains unallowed characters');
    }
    if (this.poll) this.answerPoll(this.poll, errorAnswer(new ApiError(409, 'Conflict: terminated by setWebhook request')));
    const changed = this.webhook.url !== url;
    this.webhook.url = url;
    this.webhook.secretToken = typeof secret === 'string' ? secret : null;
    this.webhook.allowedUpdates = Array.isArray(p.allowed_updates) ? (p.allowed_updates as string[]) : null;
    if (p.drop_pending_updates === true) this.queue.length = 0;
    void this.deliverLoop();
    return ok(true, changed ? 'Webhook was set' : 'Webhook is already set');
  }

  // ---- sending

  private resolveChat(p: Json): { chatId: number | string; chat: Json; state: ChatState } {
    const raw = p.chat_id;
    if (raw === undefined || raw === null || raw === '') throw badRequest('chat_id is empty');
    let chatId: number | string;
    if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw !== 0) chatId = raw;
    else if (typeof raw === 'string' && /^@[A-Za-z][A-Za-z0-9_]{3,}$/.test(raw)) chatId = raw;
    else throw badRequest('chat not found');
    if (typeof chatId === 'number' && this.blocked.has(chatId)) throw new ApiError(403, 'Forbidden: bot was blocked by the user');
    if (typeof chatId === 'number' && this.deactivated.has(chatId)) throw new ApiError(403, 'Forbidden: user is deactivated');
    return { chatId, chat: this.chatFor(chatId), state: this.chatState(chatId) };
  }

  private storeBotMessage(state: ChatState, message: Json, markup: ReplyMarkup | undefined): void {
    state.messages.set(message.message_id as number, { message, fromBot: true, deleted: false });
    if (markup && Array.isArray(markup.keyboard)) state.replyKeyboard = markup as unknown as ReplyKeyboardMarkup;
    if (markup?.remove_keyboard === true) state.replyKeyboard = undefined;
  }

  private record(entry: SentMessage): void {
    this.sentLog.push(entry);
    if (entry.method !== 'editMessageText') this.stats.sent++;
  }

  private sendMessage(p: Json): Answer {
    const { chatId, chat, state } = this.resolveChat(p);
    const raw = typeof p.text === 'number' ? String(p.text) : p.text;
    if (typeof raw !== 'string' || raw.trim() === '') throw badRequest('message text is empty');
    const r = render(raw, p.parse_mode, p.entities);
    if (r.text.trim() === '') throw badRequest('message text is empty');
    if (r.text.length > 4096) throw badRequest('message is too long');
    const markup = validateReplyMarkup(p.reply_markup, { inlineOnly: false });
    const message: Json = { message_id: state.nextId++, from: this.botUser, chat, date: nowSeconds(), text: r.text };
    if (r.entities.length > 0) message.entities = r.entities;
    if (markup && Array.isArray(markup.inline_keyboard)) message.reply_markup = markup;
    this.storeBotMessage(state, message, markup);
    const entry: SentMessage = { method: 'sendMessage', chat_id: chatId, message_id: message.message_id as number, text: r.text, raw, params: p, at: Date.now() };
    if (typeof p.parse_mode === 'string') entry.parse_mode = p.parse_mode;
    if (r.entities.length > 0) entry.entities = r.entities;
    if (markup) entry.reply_markup = markup;
    this.record(entry);
    return ok(message);
  }

  private sendMedia(method: 'sendPhoto' | 'sendDocument', field: 'photo' | 'document', p: Json): Answer {
    const { chatId, chat, state } = this.resolveChat(p);
    const media = p[field];
    if (media === undefined || media === null || media === '') throw badRequest(`there is no ${field} in the request`);
    if (!isUploadedFile(media) && typeof media !== 'string') throw badRequest('wrong file identifier/HTTP URL specified');
    const fileId = `${field === 'photo' ? 'AgAC' : 'BQAC'}${randomBytes(24).toString('base64url')}`;
    const uniqueId = `AQAD${randomBytes(8).toString('base64url')}`;
    let mediaJson: unknown;
    if (isUploadedFile(media)) {
      if (media.size === 0) throw badRequest('file must be non-empty');
      if (field === 'photo') {
        const img = imageKind(media.data);
        if (!img) throw badRequest('IMAGE_PROCESS_FAILED');
        mediaJson = [{ file_id: fileId, file_unique_id: uniqueId, file_size: media.size, width: img.width, height: img.height }];
      } else {
        mediaJson = { file_id: fileId, file_unique_id: uniqueId, file_name: media.filename, mime_type: media.contentType ?? 'application/octet-stream', file_size: media.size };
      }
    } else {
      mediaJson = field === 'photo' ? [{ file_id: media, file_unique_id: uniqueId, width: 512, height: 512 }] : { file_id: media, file_unique_id: uniqueId };
    }
    let caption: Rendered | undefined;
    const rawCaption = p.caption;
    if (typeof rawCaption === 'string' && rawCaption !== '') {
      caption = render(rawCaption, p.parse_mode, p.caption_entities);
      if (caption.text.length > 1024) throw badRequest('message caption is too long');
    }
    const markup = validateReplyMarkup(p.reply_markup, { inlineOnly: false });
    const message: Json = { message_id: state.nextId++, from: this.botUser, chat, date: nowSeconds(), [field]: mediaJson };
    if (caption && caption.text !== '') message.caption = caption.text;
    if (caption && caption.entities.length > 0) message.caption_entities = caption.entities;
    if (markup && Array.isArray(markup.inline_keyboard)) message.reply_markup = markup;
    this.storeBotMessage(state, message, markup);
    const entry: SentMessage = { method, chat_id: chatId, message_id: message.message_id as number, [field]: media, params: p, at: Date.now() };
    if (caption) {
      entry.caption = caption.text;
      entry.raw = rawCaption as string;
      if (caption.entities.length > 0) entry.entities = caption.entities;
    }
    if (typeof p.parse_mode === 'string') entry.parse_mode = p.parse_mode;
    if (markup) entry.reply_markup = markup;
    this.record(entry);
    return ok(message);
  }

  private editTarget(p: Json): { chatId: number | string; state: ChatState; stored: StoredMessage; messageId: number } | { inline: true } {
    if (typeof p.inline_message_id === 'string' && p.inline_message_id !== '') return { inline: true };
    const { chatId, state } = this.resolveChat(p);
    const messageId = typeof p.message_id === 'number' ? p.message_id : typeof p.message_id === 'string' ? Number(p.message_id) : NaN;
    if (!Number.isSafeInteger(messageId)) throw badRequest('message identifier is not specified');
    const stored = state.messages.get(messageId);
    if (!stored || stored.deleted) throw badRequest('message to edit not found');
    if (!stored.fromBot) throw badRequest("message can't be edited");
    return { chatId, state, stored, messageId };
  }

  private editMessageText(p: Json): Answer {
    const target = this.editTarget(p);
    const raw = typeof p.text === 'number' ? String(p.text) : p.text;
    if (typeof raw !== 'string' || raw.trim() === '') throw badRequest('message text is empty');
    const r = render(raw, p.parse_mode, p.entities);
    if (r.text.trim() === '') throw badRequest('message text is empty');
    if (r.text.length > 4096) throw badRequest('MESSAGE_TOO_LONG');
    const markup = validateReplyMarkup(p.reply_markup, { inlineOnly: true });
    if ('inline' in target) return ok(true);
    const current = target.stored.message;
    if (typeof current.text !== 'string') throw badRequest('there is no text in the message to edit');
    const next: Json = { ...current, text: r.text, edit_date: nowSeconds() };
    delete next.entities;
    delete next.reply_markup;
    if (r.entities.length > 0) next.entities = r.entities;
    if (markup) next.reply_markup = markup;
    if (
      current.text === next.text &&
      JSON.stringify(current.entities ?? []) === JSON.stringify(next.entities ?? []) &&
      JSON.stringify(current.reply_markup ?? null) === JSON.stringify(next.reply_markup ?? null)
    ) {
      throw badRequest('message is not modified: specified new message content and reply markup are exactly the same as a content and reply markup of the current message');
    }
    target.stored.message = next;
    const entry: SentMessage = { method: 'editMessageText', chat_id: target.chatId, message_id: target.messageId, text: r.text, raw, params: p, at: Date.now() };
    if (typeof p.parse_mode === 'string') entry.parse_mode = p.parse_mode;
    if (r.entities.length > 0) entry.entities = r.entities;
    if (markup) entry.reply_markup = markup;
    this.record(entry);
    return ok(next);
  }

  private editMessageReplyMarkup(p: Json): Answer {
    const target = this.editTarget(p);
    const markup = validateReplyMarkup(p.reply_markup, { inlineOnly: true });
    if ('inline' in target) return ok(true);
    const current = target.stored.message;
    if (JSON.stringify(current.reply_markup ?? null) === JSON.stringify(markup ?? null)) {
      throw badRequest('message is not modified: specified new message content and reply markup are exactly the same as a content and reply markup of the current message');
    }
    const next: Json = { ...current, edit_date: nowSeconds() };
    if (markup) next.reply_markup = markup;
    else delete next.reply_markup;
    target.stored.message = next;
    return ok(next);
  }

  private deleteMessage(p: Json): Answer {
    const { state } = this.resolveChat(p);
    const id = typeof p.message_id === 'number' ? p.message_id : NaN;
    if (!Number.isSafeInteger(id)) throw badRequest('message identifier is not specified');
    const stored = state.messages.get(id);
    if (!stored || stored.deleted) throw badRequest('message to delete not found');
    stored.deleted = true;
    return ok(true);
  }

  private answerCallbackQuery(p: Json): Answer {
    const id = p.callback_query_id;
    if (typeof id !== 'string' || id === '') throw badRequest('QUERY_ID_INVALID');
    if (this.callbacks.get(id) !== false) throw badRequest('query is too old and response timeout expired or query ID is invalid');
    if (typeof p.text === 'string' && p.text.length > 200) throw badRequest('MESSAGE_TOO_LONG');
    this.callbacks.set(id, true);
    return ok(true);
  }

  private sendChatAction(p: Json): Answer {
    this.resolveChat(p);
    const actions = ['typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'upload_document', 'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note'];
    if (typeof p.action !== 'string' || !actions.includes(p.action)) throw badRequest('wrong parameter action in request');
    return ok(true);
  }

  private commandsKey(scope: Json | undefined, languageCode: unknown): string {
    const s = scope ?? { type: 'default' };
    const keys = Object.keys(s).sort();
    return `${JSON.stringify(s, keys)}|${typeof languageCode === 'string' ? languageCode : ''}`;
  }

  private setMyCommands(p: Json): Answer {
    const list = p.commands;
    if (!Array.isArray(list)) throw badRequest("can't parse commands JSON object");
    if (list.length > 100) throw badRequest('BOT_COMMANDS_TOO_MUCH');
    const commands: BotCommand[] = [];
    for (const c of list as unknown[]) {
      if (!isObject(c) || typeof c.command !== 'string' || typeof c.description !== 'string') throw badRequest("can't parse BotCommand");
      const command = c.command.replace(/^\//, '');
      if (!/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest('BOT_COMMAND_INVALID');
      if (c.description.trim() === '' || c.description.length > 256) throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
      commands.push({ command, description: c.description });
    }
    const lang = p.language_code;
    if (lang !== undefined && lang !== '' && (typeof lang !== 'string' || !/^[a-z]{2}$/.test(lang))) throw badRequest('invalid language code specified');
    this.myCommands.set(this.commandsKey(isObject(p.scope) ? p.scope : undefined, lang), commands);
    return ok(true);
  }

  private notify(): void {
    for (const w of [...this.waiters]) {
      if (w.check()) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
      }
    }
  }
}

class FakeUserImpl implements FakeUser {
  private cursor = 0;
  private profile: FakeUserOptions;

  constructor(
    private readonly fake: FakeTelegramServer,
    readonly id: number,
    opts: FakeUserOptions,
  ) {
    if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`a user id must be a positive integer, got ${id}`);
    this.profile = { ...opts };
  }

  update(opts: FakeUserOptions): void {
    this.profile = { ...this.profile, ...opts };
  }

  get info(): User {
    const u: User = { id: this.id, is_bot: false, first_name: this.profile.firstName ?? `User${this.id}` };
    if (this.profile.lastName !== undefined) u.last_name = this.profile.lastName;
    if (this.profile.username !== undefined) u.username = this.profile.username;
    if (this.profile.languageCode !== undefined) u.language_code = this.profile.languageCode;
    return u;
  }

  chat(): Json {
    const c: Json = { id: this.id, type: 'private', first_name: this.info.first_name };
    if (this.profile.lastName !== undefined) c.last_name = this.profile.lastName;
    if (this.profile.username !== undefined) c.username = this.profile.username;
    return c;
  }

  private newMessage(extra: Json): Update {
    const state = this.fake.chatState(this.id);
    const message = { message_id: state.nextId, from: this.info, chat: this.chat(), date: nowSeconds(), ...extra };
    return this.fake.pushUpdate({ message } as unknown as Omit<Update, 'update_id'>);
  }

  sendText(text: string): Update {
    return this.newMessage({ text });
  }

  sendCommand(cmd: string, payload?: string): Update {
    const name = cmd.replace(/^\//, '');
    const text = payload !== undefined && payload !== '' ? `/${name} ${payload}` : `/${name}`;
    return this.newMessage({ text, entities: [{ type: 'bot_command', offset: 0, length: name.length + 1 }] });
  }

  shareContact(phone: string, opts: { userId?: number | null; firstName?: string } = {}): Update {
    const userId = opts.userId === undefined ? this.id : opts.userId;
    const own = userId === this.id;
    const contact: Json = { phone_number: phone, first_name: opts.firstName ?? (own ? this.info.first_name : 'Contact') };
    if (own && this.profile.lastName !== undefined) contact.last_name = this.profile.lastName;
    if (userId !== null) contact.user_id = userId;
    return this.newMessage({ contact });
  }

  pressButton(callbackData: string, messageId?: number): Update {
    let message: Json;
    if (messageId !== undefined) {
      const stored = this.fake.chatState(this.id).messages.get(messageId);
      message = stored && !stored.deleted ? stored.message : { chat: this.chat(), message_id: messageId, date: 0 };
    } else {
      const stored =
        this.fake.newestBotMessage(this.id, (m) => (inlineRows(m) ?? []).some((row) => row.some((b) => 'callback_data' in b && b.callback_data === callbackData))) ??
        this.fake.newestBotMessage(this.id, () => true);
      if (!stored) throw new Error(`user ${this.id}: the bot sent nothing to press "${callbackData}" on`);
      message = stored.message;
    }
    const callback_query = {
      id: this.fake.issueCallbackId(),
      from: this.info,
      message: structuredClone(message),
      chat_instance: this.fake.chatState(this.id).chatInstance,
      data: callbackData,
    };
    return this.fake.pushUpdate({ callback_query } as unknown as Omit<Update, 'update_id'>);
  }

  pressButtonWithText(text: string): Update {
    const stored = this.fake.newestBotMessage(this.id, (m) => (inlineRows(m) ?? []).some((row) => row.some((b) => b.text === text && 'callback_data' in b)));
    if (!stored) {
      throw new Error(`user ${this.id}: no callback button "${text}" in this chat. Inline buttons now: ${JSON.stringify(this.lastInlineButtons() ?? null)}`);
    }
    const button = (inlineRows(stored.message) ?? []).flat().find((b) => b.text === text && 'callback_data' in b);
    const data = button && 'callback_data' in button ? button.callback_data : '';
    return this.pressButton(data, stored.message.message_id as number);
  }

  private memberUpdate(oldStatus: string, newStatus: string): Update {
    const bot = this.fake.botUser;
    const newMember: Json = newStatus === 'kicked' ? { status: 'kicked', user: bot, until_date: 0 } : { status: newStatus, user: bot };
    const oldMember: Json = oldStatus === 'kicked' ? { status: 'kicked', user: bot, until_date: 0 } : { status: oldStatus, user: bot };
    return this.fake.pushUpdate({
      my_chat_member: { chat: this.chat(), from: this.info, date: nowSeconds(), old_chat_member: oldMember, new_chat_member: newMember },
    } as unknown as Omit<Update, 'update_id'>);
  }

  block(): Update {
    this.fake.setBlocked(this.id, true);
    return this.memberUpdate('member', 'kicked');
  }

  unblock(): Update {
    this.fake.setBlocked(this.id, false);
    return this.memberUpdate('kicked', 'member');
  }

  inbox(): SentMessage[] {
    return this.fake.sent(this.id);
  }

  lastText(): string | undefined {
    const inbox = this.inbox();
    for (let i = inbox.length - 1; i >= 0; i--) {
      const m = inbox[i];
      const t = m?.text ?? m?.caption;
      if (t !== undefined) return t;
    }
    return undefined;
  }

  lastKeyboard(): string[][] | undefined {
    const kb = this.fake.chatState(this.id).replyKeyboard;
    return kb?.keyboard.map((row) => row.map(buttonText));
  }

  lastInlineButtons(): string[][] | undefined {
    const stored = this.fake.newestBotMessage(this.id, (m) => inlineRows(m) !== undefined);
    return stored ? inlineRows(stored.message)?.map((row) => row.map((b) => b.text)) : undefined;
  }

  waitForText(re: RegExp | string, timeoutMs = 5000): Promise<SentMessage> {
    const matches = (m: SentMessage): boolean => {
      const t = m.text ?? m.caption;
      if (t === undefined) return false;
      if (typeof re === 'string') return t.includes(re);
      re.lastIndex = 0;
      return re.test(t);
    };
    return this.fake.waitFor(
      () => {
        const inbox = this.inbox();
        for (let i = this.cursor; i < inbox.length; i++) {
          const m = inbox[i];
          if (m && matches(m)) {
            this.cursor = i + 1;
            return m;
          }
        }
        return undefined;
      },
      timeoutMs,
      () =>
        `user ${this.id}: waitForText(${typeof re === 'string' ? JSON.stringify(re) : String(re)}) timed out after ${timeoutMs} ms ` +
        `(read cursor at ${this.cursor}). Chat ${this.id} got:\n${this.fake.dump(this.inbox())}`,
    );
  }
}

export async function startFakeTelegram(opts: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  const fake = new FakeTelegramServer(opts);
  await fake.listen(opts.port ?? 0);
  return fake;
}
