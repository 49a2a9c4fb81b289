/**
 * A wire-level fake of the VK API for a community bot, for tests.
 *
 * The product's real vk-io client talks to it over HTTP exactly as it talks to VK:
 *
 *   const fake = await startFakeVk({ groupId: 1001, screenName: 'shop' });
 *   const vk = new VK({ token: fake.token, apiBaseUrl: fake.apiBaseUrl });   // VK_API_BASE_URL = fake.baseUrl
 *
 * Wire format: `POST|GET {baseUrl}/method/<name>` with parameters in the query string and/or an
 * urlencoded or multipart body (vk-io sends urlencoded), `access_token` and `v` among them.
 * Answers are HTTP 200 with `{"response": …}` or
 * `{"error": {"error_code", "error_msg", "request_params": [{key, value}…]}}`, as on VK.
 *
 * What it checks like VK does (so tests catch real bugs):
 * - a wrong access_token → error 5; no `v` → error 8; an unknown method → error 3;
 * - messages.send: one of peer_id / user_id / peer_ids; random_id is required (error 100);
 *   message or attachment required (100); text longer than 4096 → 914; the keyboard must be
 *   valid JSON of VK's shape (button types, label ≤ 40, payload a JSON string ≤ 255, ≤ 5
 *   buttons a row, ≤ 10 rows (inline ≤ 6 rows and ≤ 10 buttons), no one_time on an inline
 *   keyboard) → 911; attachments must be photos/docs uploaded through this fake → 100;
 *   a user who denied messages → 901 (with peer_ids: that peer's item carries
 *   `error: {code: 901, description}`, the others are sent, as VK answers per peer);
 *   `setPrivacyClosed(id)` → 902 the same way;
 * - random_id dedupe: a second messages.send with a random_id this peer already got delivers
 *   nothing and answers the first message's id (VK drops it the same way);
 * - messages.sendMessageEventAnswer needs an event_id of a callback press not answered yet;
 * - photo uploads must be an image (PNG/JPEG/GIF magic bytes), otherwise the upload server
 *   answers an error and photos.saveMessagesPhoto refuses the token.
 *
 * Updates: user actions (`FakeVkUser.sendText`, `pressButton` …) create Callback API /
 * Bots Long Poll updates (`type`, `object`, `group_id`, `event_id`, `v`). They are served by
 * Bots Long Poll (groups.getLongPollServer → `GET {server}?act=a_check&key&ts&wait`: a held
 * poll wakes when an update comes; an old ts returns what came since; a wrong key →
 * `{"failed": 2}`; `close()` answers held polls with no updates), and, once
 * `setCallbackServer(url, secret)` is called, also POSTed there as VK does: one at a time per
 * update, with `secret`, repeated (≤ 5 times) until the answer is 200 "ok".
 *
 * Errors on demand: `failNext(method, times, error)` (e.g. `{error_code: 9, error_msg: 'Flood
 * control'}` or 6 "Too many requests per second"); `rpsLimit` makes every method answer 6 past
 * that many requests in any second, as VK does for a community token (20).
 *
 * Message ids are global to the community; conversation_message_ids count per dialogue and
 * are shared by the user's and the bot's messages, as in a real dialogue.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseMultipart } from './telegram.fake.js';

type Json = Record<string, unknown>;

export interface VkApiErrorSpec {
  error_code: number;
  error_msg: string;
}

export interface VkCall {
  method: string;
  params: Record<string, string>;
  at: number;
  /** The error code answered, or null for a response. */
  error: number | null;
  encoding: 'urlencoded' | 'multipart' | 'query';
}

export interface VkButton {
  type: string;
  label?: string;
  payload?: string;
  link?: string;
}

export interface VkKeyboard {
  inline: boolean;
  oneTime: boolean;
  buttons: VkButton[][];
}

export interface VkUpload {
  kind: 'photo' | 'doc';
  owner_id: number;
  id: number;
  access_key?: string;
  filename: string;
  contentType: string | undefined;
  size: number;
  /** Not enumerable: kept out of dumps. */
  readonly data: Buffer;
}

export interface VkSentMessage {
  peer_id: number;
  message_id: number;
  conversation_message_id: number;
  random_id: number;
  text: string;
  keyboard?: VkKeyboard;
  attachments: VkUpload[];
  params: Record<string, string>;
  at: number;
}

export interface VkUpdate {
  type: string;
  object: Json;
  group_id: number;
  event_id: string;
  v: string;
}

export interface CallbackDelivery {
  event_id: string;
  type: string;
  status: number | null;
  body: string;
  at: number;
}

export interface FakeVkUserOptions {
  firstName?: string;
  lastName?: string;
  /** VK's client_info.lang_id: 0 ru, 3 en. */
  langId?: number;
  /** Button types the client shows (client_info.button_actions). */
  buttonActions?: string[];
  inlineKeyboard?: boolean;
  /** false: the user has not allowed the community to write (messages.send → 901). */
  allowsMessages?: boolean;
}

export interface FakeVkUser {
  id: number;
  readonly info: { id: number; first_name: string; last_name: string };
  /** A message from this user (message_new). `ref`: the dialogue was opened by vk.me/<community>?ref=<ref>. */
  sendText(text: string, opts?: { ref?: string; refSource?: string; payload?: string }): VkUpdate;
  /** VK's own "Start" button of a new dialogue (payload {"command":"start"}), with a ref when opened by a link. */
  pressStart(opts?: { ref?: string }): VkUpdate;
  /**
   * Presses the button with this label: on the newest bot message with an inline keyboard
   * having it, else on the keyboard shown under the input field. A callback button gives a
   * message_event; a text button a message_new with the label and its payload. Throws when
   * there is no such button (or it is a link).
   */
  pressButton(label: string): VkUpdate;
  /** The user forbids the community's messages (message_deny; later sends → 901) or allows them again (message_allow). */
  deny(): VkUpdate;
  allow(): VkUpdate;
  /** Messages delivered to this user's dialogue, in order. */
  inbox(): VkSentMessage[];
  lastText(): string | undefined;
  /** Labels of the keyboard under the input field (last one sent, unless hidden since). */
  lastKeyboard(): string[][] | undefined;
  /** Labels of the inline keyboard of the newest bot message that has one. */
  lastInlineButtons(): string[][] | undefined;
  /** Like the Telegram fake: the first unread inbox message matching, then the cursor moves past it. */
  waitForText(re: RegExp | string, timeoutMs?: number): Promise<VkSentMessage>;
}

export interface FakeVk {
  /** VK_API_BASE_URL for the product (without /method). */
  baseUrl: string;
  /** vk-io's apiBaseUrl. */
  apiBaseUrl: string;
  token: string;
  groupId: number;
  screenName: string;
  calls: VkCall[];
  /** Messages delivered (a send dropped by random_id dedupe is not here), in order. */
  sent(peerId?: number): VkSentMessage[];
  user(id: number, opts?: FakeVkUserOptions): FakeVkUser;
  /** Every update created, in order. */
  updates: VkUpdate[];
  /** Callback press event_ids (object.event_id) the bot has not answered. */
  unansweredEvents(): string[];
  failNext(method: string, times: number, error: VkApiErrorSpec): void;
  /** Sends to this peer answer 902 (the person's privacy settings). */
  setPrivacyClosed(peerId: number): void;
  /** From now on updates are also POSTed here, with this secret. */
  setCallbackServer(url: string, secret: string): void;
  /** POSTs `{"type":"confirmation", group_id, secret}` as VK does when the server is added; resolves with the answer. */
  confirmCallbackServer(): Promise<{ status: number; body: string }>;
  /** POSTs an update again, as VK does when it missed the "ok". */
  deliverAgain(eventId: string): Promise<CallbackDelivery>;
  deliveries: CallbackDelivery[];
  /** Resolves once every update created so far was answered "ok" by the callback server. */
  callbacksSettled(timeoutMs?: number): Promise<void>;
  waitForMessage(pred: (m: VkSentMessage) => boolean, timeoutMs?: number): Promise<VkSentMessage>;
  close(): Promise<void>;
}

export interface FakeVkOptions {
  groupId?: number;
  screenName?: string;
  name?: string;
  /** Answer error 6 past this many requests in any second (off by default). */
  rpsLimit?: number;
  /** Longest a long poll is held, ms (default: the `wait` asked for). */
  maxPollMs?: number;
}

// ---------------------------------------------------------------------------------------------

class VkError extends Error {
  constructor(
    readonly code: number,
    readonly msg: string,
  ) {
    super(msg);
  }
}
const invalid = (what: string): VkError => new VkError(100, `One of the parameters specified was missing or invalid: ${what}`);

const API_VERSION = '5.199';
const MODERN_BUTTONS = ['text', 'vkpay', 'open_app', 'location', 'open_link', 'callback', 'intent_subscribe', 'intent_unsubscribe'];
const BUTTON_TYPES = new Set(['text', 'callback', 'open_link', 'location', 'vkpay', 'open_app']);

function uploaded(kind: VkUpload['kind'], ownerId: number, id: number, filename: string, contentType: string | undefined, data: Buffer, accessKey?: string): VkUpload {
  const u = { kind, owner_id: ownerId, id, filename, contentType, size: data.length, ...(accessKey ? { access_key: accessKey } : {}) } as VkUpload;
  Object.defineProperty(u, 'data', { value: data, enumerable: false });
  return u;
}

function isImage(b: Buffer): boolean {
  const png = b.length > 8 && b.readUInt32BE(0) === 0x89504e47;
  const jpeg = b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
  const gif = b.length > 6 && b.subarray(0, 4).toString('latin1') === 'GIF8';
  return png || jpeg || gif;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** VK keyboard JSON → what the user sees; throws 911 for what VK refuses. */
function parseKeyboard(raw: string): VkKeyboard {
  const bad = (why: string): VkError => new VkError(911, `Keyboard format is invalid: ${why}`);
  let k: unknown;
  try {
    k = JSON.parse(raw);
  } catch {
    throw bad('not JSON');
  }
  if (typeof k !== 'object' || k === null) throw bad('not an object');
  const o = k as Json;
  if (!Array.isArray(o.buttons)) throw bad('buttons is not an array');
  const inline = o.inline === true;
  if (inline && o.one_time === true) throw bad('one_time is not allowed for an inline keyboard');
  const rows = o.buttons as unknown[];
  if (rows.length > (inline ? 6 : 10)) throw bad('too many rows');
  let count = 0;
  const buttons = rows.map((row) => {
    if (!Array.isArray(row) || row.length === 0 || row.length > 5) throw bad('a row must have 1–5 buttons');
    return (row as unknown[]).map((b) => {
      count++;
      const action = (b as Json | null)?.action as Json | undefined;
      if (!action || typeof action.type !== 'string' || !BUTTON_TYPES.has(action.type)) throw bad('unknown button action type');
      const button: VkButton = { type: action.type };
      if (action.type === 'text' || action.type === 'callback' || action.type === 'open_link') {
        if (typeof action.label !== 'string' || action.label.length === 0 || action.label.length > 40) throw bad('label must be 1–40 characters');
        button.label = action.label;
      }
      if (action.payload !== undefined) {
        if (typeof action.payload !== 'string' || action.payload.length > 255) throw bad('payload must be a string of at most 255 characters');
        try {
          JSON.parse(action.payload);
        } catch {
          throw bad('payload must be JSON');
        }
        button.payload = action.payload;
      }
      if (action.type === 'open_link') {
        if (typeof action.link !== 'string' || !/^https?:\/\//.test(action.link)) throw bad('open_link needs a link');
        button.link = action.link;
      }
      return button;
    });
  });
  if (inline && count > 10) throw bad('an inline keyboard has at most 10 buttons');
  if (!inline && count > 40) throw bad('a keyboard has at most 40 buttons');
  return { inline, oneTime: o.one_time === true, buttons };
}

interface Waiter {
  pred: (m: VkSentMessage) => boolean;
  resolve: (m: VkSentMessage) => void;
}

interface HeldPoll {
  ts: number;
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

class FakeVkServer implements FakeVk {
  baseUrl = '';
  apiBaseUrl = '';
  readonly token = `vk1.a.${randomBytes(48).toString('base64url')}`;
  readonly groupId: number;
  readonly screenName: string;
  readonly name: string;
  readonly calls: VkCall[] = [];
  readonly updates: VkUpdate[] = [];
  readonly deliveries: CallbackDelivery[] = [];
  private readonly server = createServer((req, res) => void this.route(req, res));
  private readonly messages: VkSentMessage[] = [];
  private readonly users = new Map<number, FakeVkUserImpl>();
  private readonly failures = new Map<string, { times: number; error: VkApiErrorSpec }[]>();
  private readonly byRandomId = new Map<string, VkSentMessage>();
  readonly privacyClosed = new Set<number>();
  private readonly uploadsPending = new Map<string, VkUpload>();
  private readonly saved = new Map<string, VkUpload>();
  private readonly events = new Map<string, boolean>();
  private readonly waiters = new Set<Waiter>();
  private readonly held = new Set<HeldPoll>();
  private readonly recent: number[] = [];
  private readonly lpKey = randomBytes(16).toString('hex');
  private callback: { url: string; secret: string } | null = null;
  /** Updates waiting for the callback server, delivered one at a time. */
  private callbackChain: Promise<void> = Promise.resolve();
  private readonly callbackPending = new Set<string>();
  private messageId = 0;
  private uploadId = 0;
  private readonly cmids = new Map<number, number>();
  private closed = false;

  constructor(private readonly opts: FakeVkOptions) {
    this.groupId = opts.groupId ?? 1001;
    this.screenName = opts.screenName ?? 'shop_loyalty';
    this.name = opts.name ?? 'Shop';
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.apiBaseUrl = `${this.baseUrl}/method`;
  }

  // --- state helpers ---------------------------------------------------------------------------

  nextCmid(peerId: number): number {
    const n = (this.cmids.get(peerId) ?? 0) + 1;
    this.cmids.set(peerId, n);
    return n;
  }

  sent(peerId?: number): VkSentMessage[] {
    return peerId === undefined ? [...this.messages] : this.messages.filter((m) => m.peer_id === peerId);
  }

  user(id: number, opts: FakeVkUserOptions = {}): FakeVkUser {
    let u = this.users.get(id);
    if (!u) {
      u = new FakeVkUserImpl(this, id, opts);
      this.users.set(id, u);
    } else u.update(opts);
    return u;
  }

  unansweredEvents(): string[] {
    return [...this.events].filter(([, answered]) => !answered).map(([id]) => id);
  }

  setPrivacyClosed(peerId: number): void {
    this.privacyClosed.add(peerId);
  }

  failNext(method: string, times: number, error: VkApiErrorSpec): void {
    const list = this.failures.get(method) ?? [];
    list.push({ times, error });
    this.failures.set(method, list);
  }

  waitForMessage(pred: (m: VkSentMessage) => boolean, timeoutMs = 5000): Promise<VkSentMessage> {
    const found = this.messages.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`waitForMessage timed out after ${timeoutMs} ms; sent: ${JSON.stringify(this.messages.map((m) => ({ peer: m.peer_id, text: m.text })))}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  // --- updates ---------------------------------------------------------------------------------

  /** Records an update: long poll serves it, the callback server (if any) gets it POSTed. */
  pushUpdate(type: string, object: Json): VkUpdate {
    const update: VkUpdate = { type, object, group_id: this.groupId, event_id: randomBytes(20).toString('hex'), v: API_VERSION };
    this.updates.push(update);
    this.wakePolls();
    if (this.callback) this.queueCallback(update);
    return update;
  }

  issueEvent(): string {
    const id = randomBytes(8).toString('hex');
    this.events.set(id, false);
    return id;
  }

  setCallbackServer(url: string, secret: string): void {
    this.callback = { url, secret };
  }

  private async post(body: Json): Promise<{ status: number | null; body: string }> {
    if (!this.callback) throw new Error('no callback server set');
    try {
      const res = await fetch(this.callback.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, secret: this.callback.secret }) });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      return { status: null, body: (err as Error).message };
    }
  }

  async confirmCallbackServer(): Promise<{ status: number; body: string }> {
    const r = await this.post({ type: 'confirmation', group_id: this.groupId });
    return { status: r.status ?? 0, body: r.body };
  }

  private async deliverOnce(update: VkUpdate): Promise<CallbackDelivery> {
    const r = await this.post({ ...update });
    const d: CallbackDelivery = { event_id: update.event_id, type: update.type, status: r.status, body: r.body, at: Date.now() };
    this.deliveries.push(d);
    return d;
  }

  private queueCallback(update: VkUpdate): void {
    this.callbackPending.add(update.event_id);
    this.callbackChain = this.callbackChain.then(async () => {
      for (let attempt = 0; attempt < 5 && !this.closed; attempt++) {
        const d = await this.deliverOnce(update);
        if (d.status === 200 && d.body === 'ok') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      this.callbackPending.delete(update.event_id);
    });
  }

  async deliverAgain(eventId: string): Promise<CallbackDelivery> {
    const update = this.updates.find((u) => u.event_id === eventId);
    if (!update) throw new Error(`no update ${eventId}`);
    return this.deliverOnce(update);
  }

  async callbacksSettled(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.callbackPending.size > 0) {
      if (Date.now() > deadline) throw new Error(`callback deliveries still pending: ${[...this.callbackPending].join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  // --- long poll -------------------------------------------------------------------------------

  /** The ts of the next update (long poll positions: an update n is served to polls with ts ≤ n). */
  private get nextTs(): number {
    return this.updates.length + 1;
  }

  private answerPoll(res: ServerResponse, ts: number): void {
    const updates = this.updates.slice(ts - 1);
    this.json(res, { ts: String(this.nextTs), updates });
  }

  private wakePolls(): void {
    for (const p of [...this.held]) {
      if (this.updates.length >= p.ts) {
        clearTimeout(p.timer);
        this.held.delete(p);
        this.answerPoll(p.res, p.ts);
      }
    }
  }

  private longPoll(url: URL, res: ServerResponse): void {
    if (url.pathname !== `/lp/${this.groupId}` || url.searchParams.get('act') !== 'a_check') {
      res.writeHead(404).end();
      return;
    }
    if (url.searchParams.get('key') !== this.lpKey) return this.json(res, { failed: 2 });
    const ts = Number(url.searchParams.get('ts'));
    if (!Number.isInteger(ts) || ts < 1 || ts > this.nextTs) return this.json(res, { failed: 1, ts: String(this.nextTs) });
    if (this.updates.length >= ts) return this.answerPoll(res, ts);
    const waitMs = Math.min(Number(url.searchParams.get('wait') ?? '25') * 1000, this.opts.maxPollMs ?? Infinity);
    const poll: HeldPoll = {
      ts,
      res,
      timer: setTimeout(() => {
        this.held.delete(poll);
        this.answerPoll(res, ts);
      }, waitMs),
    };
    this.held.add(poll);
    res.on('close', () => {
      clearTimeout(poll.timer);
      this.held.delete(poll);
    });
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private json(res: ServerResponse, body: unknown, status = 200): void {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    try {
      if (url.pathname.startsWith('/lp/')) return this.longPoll(url, res);
      if (url.pathname.startsWith('/upload/')) return await this.upload(url, req, res);
      const m = /^\/method\/([A-Za-z]+\.[A-Za-z]+)$/.exec(url.pathname);
      if (!m?.[1]) return void res.writeHead(404).end();
      await this.method(m[1], url, req, res);
    } catch (err) {
      this.json(res, { error: String(err) }, 500);
    }
  }

  private async readParams(url: URL, req: IncomingMessage): Promise<{ params: Record<string, string>; encoding: VkCall['encoding'] }> {
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    let encoding: VkCall['encoding'] = 'query';
    const body = await readBody(req);
    const type = req.headers['content-type'] ?? '';
    if (body.length > 0 && type.startsWith('application/x-www-form-urlencoded')) {
      Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
      encoding = 'urlencoded';
    } else if (body.length > 0 && type.startsWith('multipart/form-data')) {
      const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
      for (const p of parseMultipart(body, boundary?.[1] ?? boundary?.[2] ?? '')) if (p.filename === undefined) params[p.name] = p.data.toString('utf8');
      encoding = 'multipart';
    }
    return { params, encoding };
  }

  private overRate(): boolean {
    if (!this.opts.rpsLimit) return false;
    const now = Date.now();
    while (this.recent.length > 0 && (this.recent[0] ?? 0) <= now - 1000) this.recent.shift();
    this.recent.push(now);
    return this.recent.length > this.opts.rpsLimit;
  }

  private async method(method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { params, encoding } = await this.readParams(url, req);
    const call: VkCall = { method, params: Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'access_token')), at: Date.now(), error: null, encoding };
    this.calls.push(call);
    try {
      if (params.access_token !== this.token) throw new VkError(5, 'User authorization failed: invalid access_token (4).');
      if (!params.v) throw new VkError(8, 'Invalid request: v (version) is required');
      if (this.overRate()) throw new VkError(6, 'Too many requests per second');
      const failure = this.failures.get(method)?.[0];
      if (failure) {
        failure.times -= 1;
        if (failure.times <= 0) this.failures.get(method)?.shift();
        throw new VkError(failure.error.error_code, failure.error.error_msg);
      }
      this.json(res, { response: this.handle(method, params) });
    } catch (err) {
      if (!(err instanceof VkError)) throw err;
      call.error = err.code;
      const requestParams = [{ key: 'method', value: method }, { key: 'oauth', value: '1' }, ...Object.entries(call.params).map(([key, value]) => ({ key, value }))];
      this.json(res, { error: { error_code: err.code, error_msg: err.msg, request_params: requestParams } });
    }
  }

  private handle(method: string, p: Record<string, string>): unknown {
    switch (method) {
      case 'groups.getById':
        if (p.group_id !== undefined && p.group_id !== String(this.groupId) && p.group_id !== this.screenName) throw invalid('group_id is undefined');
        return { groups: [{ id: this.groupId, name: this.name, screen_name: this.screenName, is_closed: 0, type: 'page' }], profiles: [] };
      case 'groups.getLongPollServer':
        if (p.group_id !== String(this.groupId)) throw invalid('group_id is invalid');
        return { key: this.lpKey, server: `${this.baseUrl}/lp/${this.groupId}`, ts: String(this.nextTs) };
      case 'users.get':
        return (p.user_ids ?? '').split(',').filter((s) => s !== '').map((s) => {
          const id = Number(s);
          if (!Number.isInteger(id) || id <= 0) throw new VkError(113, 'Invalid user id');
          const u = this.users.get(id);
          return { id, first_name: u?.info.first_name ?? 'DELETED', last_name: u?.info.last_name ?? '', can_access_closed: true, is_closed: false };
        });
      case 'messages.send':
        return this.send(p);
      case 'messages.sendMessageEventAnswer': {
        if (!p.event_id || this.events.get(p.event_id) !== false) throw invalid('event_id is invalid');
        this.events.set(p.event_id, true);
        return 1;
      }
      case 'photos.getMessagesUploadServer':
        return { upload_url: `${this.baseUrl}/upload/photo?peer=${encodeURIComponent(p.peer_id ?? '0')}`, album_id: -3, group_id: this.groupId };
      case 'photos.saveMessagesPhoto': {
        const u = this.uploadsPending.get(p.photo ?? '');
        if (!u || u.kind !== 'photo') throw new VkError(1160, 'Invalid photo');
        this.uploadsPending.delete(p.photo ?? '');
        this.saved.set(`photo${u.owner_id}_${u.id}`, u);
        return [{ id: u.id, owner_id: u.owner_id, album_id: -3, access_key: u.access_key, date: Math.floor(Date.now() / 1000), sizes: [{ type: 'x', width: 360, height: 360, url: `${this.baseUrl}/files/${u.id}.png` }] }];
      }
      case 'docs.getMessagesUploadServer':
        return { upload_url: `${this.baseUrl}/upload/doc?peer=${encodeURIComponent(p.peer_id ?? '0')}` };
      case 'docs.save': {
        const u = this.uploadsPending.get(p.file ?? '');
        if (!u || u.kind !== 'doc') throw invalid('file is invalid');
        this.uploadsPending.delete(p.file ?? '');
        this.saved.set(`doc${u.owner_id}_${u.id}`, u);
        const ext = u.filename.includes('.') ? u.filename.slice(u.filename.lastIndexOf('.') + 1) : '';
        return { type: 'doc', doc: { id: u.id, owner_id: u.owner_id, title: p.title ?? u.filename, size: u.size, ext, url: `${this.baseUrl}/files/${u.id}`, date: Math.floor(Date.now() / 1000), type: 8, access_key: u.access_key } };
      }
      default:
        throw new VkError(3, 'Unknown method passed');
    }
  }

  private attachmentsOf(raw: string | undefined): VkUpload[] {
    if (!raw) return [];
    return raw.split(',').map((a) => {
      const m = /^(photo|doc)(-?\d+)_(\d+)(?:_([A-Za-z0-9]+))?$/.exec(a.trim());
      const u = m ? this.saved.get(`${m[1] ?? ''}${m[2] ?? ''}_${m[3] ?? ''}`) : undefined;
      if (!u || (u.access_key && u.access_key !== m?.[4])) throw invalid('attachment is invalid');
      return u;
    });
  }

  private send(p: Record<string, string>): unknown {
    const many = p.peer_ids !== undefined;
    const peers = (p.peer_ids ?? p.peer_id ?? p.user_id ?? '').split(',').filter((s) => s !== '').map(Number);
    if (peers.length === 0 || peers.some((n) => !Number.isInteger(n) || n === 0)) throw invalid('peer_id is undefined');
    if (p.random_id === undefined || !/^-?\d+$/.test(p.random_id)) throw invalid('random_id is a required parameter');
    const text = p.message ?? '';
    const attachments = this.attachmentsOf(p.attachment);
    if (text.trim() === '' && attachments.length === 0) throw invalid('message is empty or invalid');
    if (text.length > 4096) throw new VkError(914, 'Message is too long');
    const keyboard = p.keyboard !== undefined ? parseKeyboard(p.keyboard) : undefined;
    type PeerError = { peer_id: number; error: { code: number; description: string } };
    const out = peers.map((peer): VkSentMessage | PeerError => {
      const u = this.users.get(peer);
      const refusal =
        u && !u.allowsMessages
          ? new VkError(901, "Can't send messages for users without permission")
          : this.privacyClosed.has(peer)
            ? new VkError(902, "Can't send messages to this user due to their privacy settings")
            : null;
      if (refusal) {
        if (!many) throw refusal;
        return { peer_id: peer, error: { code: refusal.code, description: refusal.message } };
      }
      const dedupeKey = `${peer}:${p.random_id ?? ''}`;
      const earlier = p.random_id !== '0' ? this.byRandomId.get(dedupeKey) : undefined;
      if (earlier) return earlier;
      const msg: VkSentMessage = {
        peer_id: peer,
        message_id: ++this.messageId,
        conversation_message_id: this.nextCmid(peer),
        random_id: Number(p.random_id),
        text,
        ...(keyboard ? { keyboard } : {}),
        attachments,
        params: p,
        at: Date.now(),
      };
      if (p.random_id !== '0') this.byRandomId.set(dedupeKey, msg);
      this.messages.push(msg);
      u?.deliver(msg);
      for (const w of [...this.waiters]) {
        if (w.pred(msg)) {
          this.waiters.delete(w);
          w.resolve(msg);
        }
      }
      return msg;
    });
    if (!many) return (out[0] as VkSentMessage | undefined)?.message_id;
    return out.map((m) => ('error' in m ? m : { peer_id: m.peer_id, message_id: m.message_id, conversation_message_id: m.conversation_message_id }));
  }

  private async upload(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const kind = url.pathname === '/upload/photo' ? 'photo' : url.pathname === '/upload/doc' ? 'doc' : null;
    const body = await readBody(req);
    const type = req.headers['content-type'] ?? '';
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
    if (!kind || !boundary) return this.json(res, { error: 'bad upload' }, 400);
    const field = kind === 'photo' ? 'photo' : 'file';
    const part = parseMultipart(body, boundary[1] ?? boundary[2] ?? '').find((x) => x.name === field && x.filename !== undefined);
    if (!part || part.data.length === 0) return this.json(res, { error: 'ERR_UPLOAD_FILE_NOT_UPLOADED: file not uploaded' });
    if (kind === 'photo' && !isImage(part.data)) return this.json(res, { server: 1, photo: '[]', hash: '' });
    const token = randomBytes(12).toString('hex');
    const u = uploaded(kind, -this.groupId, ++this.uploadId, part.filename ?? 'file', part.contentType, part.data, randomBytes(6).toString('hex'));
    this.uploadsPending.set(token, u);
    this.json(res, kind === 'photo' ? { server: 1, photo: token, hash: randomBytes(8).toString('hex') } : { file: token });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.held) {
      clearTimeout(p.timer);
      this.json(p.res, { ts: String(this.nextTs), updates: [] });
    }
    this.held.clear();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

class FakeVkUserImpl implements FakeVkUser {
  private readonly box: VkSentMessage[] = [];
  private cursor = 0;
  private keyboard: VkKeyboard | undefined;
  private readonly waiters = new Set<{ re: RegExp | string; resolve: (m: VkSentMessage) => void }>();
  private opts: FakeVkUserOptions;

  constructor(
    private readonly fake: FakeVkServer,
    readonly id: number,
    opts: FakeVkUserOptions,
  ) {
    this.opts = opts;
  }

  update(opts: FakeVkUserOptions): void {
    this.opts = { ...this.opts, ...opts };
  }

  get allowsMessages(): boolean {
    return this.opts.allowsMessages !== false;
  }

  deny(): VkUpdate {
    this.opts = { ...this.opts, allowsMessages: false };
    return this.fake.pushUpdate('message_deny', { user_id: this.id });
  }

  allow(): VkUpdate {
    this.opts = { ...this.opts, allowsMessages: true };
    return this.fake.pushUpdate('message_allow', { user_id: this.id, key: '' });
  }

  get info(): { id: number; first_name: string; last_name: string } {
    return { id: this.id, first_name: this.opts.firstName ?? `User${this.id}`, last_name: this.opts.lastName ?? '' };
  }

  private clientInfo(): Json {
    return { button_actions: this.opts.buttonActions ?? MODERN_BUTTONS, keyboard: true, inline_keyboard: this.opts.inlineKeyboard ?? true, carousel: true, lang_id: this.opts.langId ?? 0 };
  }

  private message(text: string, extra: Json): VkUpdate {
    const message = {
      date: Math.floor(Date.now() / 1000),
      from_id: this.id,
      id: 0,
      out: 0,
      version: 1,
      attachments: [],
      conversation_message_id: this.fake.nextCmid(this.id),
      fwd_messages: [],
      important: false,
      is_hidden: false,
      peer_id: this.id,
      random_id: 0,
      text,
      ...extra,
    };
    return this.fake.pushUpdate('message_new', { message, client_info: this.clientInfo() });
  }

  sendText(text: string, opts: { ref?: string; refSource?: string; payload?: string } = {}): VkUpdate {
    return this.message(text, {
      ...(opts.ref !== undefined ? { ref: opts.ref } : {}),
      ...(opts.refSource !== undefined ? { ref_source: opts.refSource } : {}),
      ...(opts.payload !== undefined ? { payload: opts.payload } : {}),
    });
  }

  pressStart(opts: { ref?: string } = {}): VkUpdate {
    return this.message(this.opts.langId === 3 ? 'Start' : 'Начать', { payload: '{"command":"start"}', ...(opts.ref !== undefined ? { ref: opts.ref } : {}) });
  }

  pressButton(label: string): VkUpdate {
    const withInline = [...this.box].reverse().find((m) => m.keyboard?.inline && m.keyboard.buttons.flat().some((b) => b.label === label));
    const fromKeyboard = withInline ? undefined : this.keyboard?.buttons.flat().find((b) => b.label === label);
    const button = withInline?.keyboard?.buttons.flat().find((b) => b.label === label) ?? fromKeyboard;
    if (!button) throw new Error(`user ${this.id}: no button "${label}"; keyboard ${JSON.stringify(this.lastKeyboard())}, inline ${JSON.stringify(this.lastInlineButtons())}`);
    if (button.type === 'open_link') throw new Error(`"${label}" is a link button`);
    if (fromKeyboard && this.keyboard?.oneTime) this.keyboard = undefined;
    if (button.type === 'callback') {
      const payload = button.payload ? (JSON.parse(button.payload) as unknown) : {};
      return this.fake.pushUpdate('message_event', {
        user_id: this.id,
        peer_id: this.id,
        event_id: this.fake.issueEvent(),
        payload,
        conversation_message_id: withInline?.conversation_message_id ?? 0,
      });
    }
    return this.message(label, button.payload ? { payload: button.payload } : {});
  }

  deliver(msg: VkSentMessage): void {
    this.box.push(msg);
    if (msg.keyboard && !msg.keyboard.inline) this.keyboard = msg.keyboard.buttons.length > 0 ? msg.keyboard : undefined;
    for (const w of [...this.waiters]) w.resolve(msg);
  }

  inbox(): VkSentMessage[] {
    return [...this.box];
  }

  lastText(): string | undefined {
    return this.box.at(-1)?.text;
  }

  lastKeyboard(): string[][] | undefined {
    return this.keyboard?.buttons.map((r) => r.map((b) => b.label ?? b.type));
  }

  lastInlineButtons(): string[][] | undefined {
    const m = [...this.box].reverse().find((x) => x.keyboard?.inline);
    return m?.keyboard?.buttons.map((r) => r.map((b) => b.label ?? b.type));
  }

  private take(re: RegExp | string): VkSentMessage | undefined {
    for (let i = this.cursor; i < this.box.length; i++) {
      const m = this.box[i];
      if (m && (typeof re === 'string' ? m.text.includes(re) : re.test(m.text))) {
        this.cursor = i + 1;
        return m;
      }
    }
    return undefined;
  }

  waitForText(re: RegExp | string, timeoutMs = 5000): Promise<VkSentMessage> {
    const now = this.take(re);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const waiter = {
        re,
        resolve: () => {
          const m = this.take(re);
          if (!m) return;
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`user ${this.id}: waitForText(${typeof re === 'string' ? JSON.stringify(re) : String(re)}) timed out after ${timeoutMs} ms; dialogue:\n${this.box.map((m, i) => `${i < this.cursor ? '  (read) ' : '  '}${m.text}`).join('\n')}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

export async function startFakeVk(opts: FakeVkOptions = {}): Promise<FakeVk> {
  const fake = new FakeVkServer(opts);
  await fake.listen();
  return fake;
}
