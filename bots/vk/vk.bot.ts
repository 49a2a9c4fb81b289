import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { MessageContext, MessageEventContext, UpdateSource, VK, type Context } from 'vk-io';
import type { VkConfig } from '../../core/config.js';
import type { I18n } from '../../core/i18n/i18n.js';
import type { Logger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis.js';
import type { Flows, Input, Sender } from '../flows/flow.types.js';
import { capsOf, languageCodeOf, startFromRef, type ClientInfo } from './vk.input.js';
import { DEFAULT_FLOOD_POLICY, MODERN_CLIENT, isFloodControl, parseButtonPayload, renderReplies, type ClientCaps, type FloodPolicy } from './vk.render.js';

export type EnabledVkConfig = Extract<VkConfig, { enabled: true }>;

/** Update types the bot reads; VK may send others (typing, message_reply…), which are ignored. */
export const VK_UPDATE_TYPES = ['message_new', 'message_event', 'message_allow', 'message_deny'] as const;

/** An update as the Callback API POSTs it and Bots Long Poll returns it. */
export interface VkUpdate {
  type: string;
  event_id: string;
  group_id?: number;
  object: Record<string, unknown>;
  v?: string;
}

/** Chat ids start here; user dialogues are below (the peer id of a user's dialogue is the user id). */
const CHAT_PEER_OFFSET = 2_000_000_000;

/**
 * vk-io talks through node-fetch, which wants an agent of the URL's own protocol: the API and
 * the long-poll server are https on VK and may be http on a local fake (VK_API_BASE_URL).
 */
export function vkAgent(): HttpsAgent & { destroyAll(): void } {
  const http = new HttpAgent({ keepAlive: true });
  const https = new HttpsAgent({ keepAlive: true });
  const pick = Object.assign((url: URL) => (url.protocol === 'http:' ? http : https), {
    destroyAll() {
      http.destroy();
      https.destroy();
    },
  });
  return pick as unknown as HttpsAgent & { destroyAll(): void };
}

/** The VK client (API, uploads) for the community. Requests are paced at `config.rps` per second. */
export function createVk(config: EnabledVkConfig, agent: HttpsAgent = vkAgent()): VK {
  return new VK({
    token: config.token,
    ...(config.apiBaseUrl ? { apiBaseUrl: `${config.apiBaseUrl}/method` } : {}),
    apiLimit: config.rps,
    apiMode: 'sequential',
    agent,
    pollingGroupId: config.groupId,
  });
}

/**
 * The token's own community (groups.getById without an id answers it), checked against
 * VK_GROUP_ID, and its short name for invite links (vk.me/<name>). Fails on a wrong token or id.
 */
export async function fetchCommunity(vk: VK, groupId: number): Promise<{ id: number; screenName: string; name: string }> {
  const raw: unknown = await vk.api.groups.getById({});
  // API 5.194+ answers {groups: […]}, older versions a bare array.
  const list: unknown = Array.isArray(raw) ? raw : (raw as { groups?: unknown }).groups;
  const group = Array.isArray(list) ? (list[0] as { id?: unknown; screen_name?: unknown; name?: unknown } | undefined) : undefined;
  if (typeof group?.id !== 'number') throw new Error('VK: groups.getById named no community for this token');
  if (group.id !== groupId) throw new Error(`VK: VK_GROUP_TOKEN belongs to community ${group.id}, not to VK_GROUP_ID ${groupId}`);
  const screenName = typeof group.screen_name === 'string' && group.screen_name !== '' ? group.screen_name : `club${group.id}`;
  return { id: group.id, screenName, name: typeof group.name === 'string' ? group.name : screenName };
}

/** Each update once: `claim(event_id)` is true the first time only (Redis SET NX with a TTL). */
export interface UpdateGuard {
  claim(eventId: string): Promise<boolean>;
}

/** A day: far longer than VK repeats an unanswered Callback API request or long poll replays a saved ts. */
export const UPDATE_GUARD_TTL_SECONDS = 24 * 3600;

export function redisUpdateGuard(redis: Redis, prefix: string, groupId: number): UpdateGuard {
  return {
    async claim(eventId) {
      return (await redis.set(`${prefix}:vk:update:${groupId}:${eventId}`, '1', 'EX', UPDATE_GUARD_TTL_SECONDS, 'NX')) === 'OK';
    },
  };
}

export interface VkBotDeps {
  config: EnabledVkConfig;
  vk: VK;
  flows: Flows;
  guard: UpdateGuard;
  logger: Logger;
  /** For the "something went wrong" answer of the error boundary; without it failures are only logged. */
  i18n?: I18n;
  flood?: FloodPolicy;
}

export interface VkBot {
  vk: VK;
  groupId: number;
  /**
   * Takes one update: claims its event_id (a repeat is 'duplicate' and does nothing), then
   * handles it in the background, after the same person's earlier updates. Throws when the
   * claim cannot be made (Redis down): the Callback API then answers 500 and VK sends it again.
   */
  accept(update: unknown): Promise<'accepted' | 'duplicate' | 'ignored'>;
  /** Resolves when the updates being handled are done (or after timeoutMs). */
  drain(timeoutMs?: number): Promise<void>;
}

/** Per-update data the features share: which update (for random_ids) and the person's client. */
interface VkState {
  eventId: string;
  caps: ClientCaps;
}
const stateOf = (ctx: Context): VkState => ctx.state as VkState;

type Respond = (ctx: Context, peerId: number, sender: Sender, input: Input) => Promise<void>;
type Middleware = (ctx: Context, next: () => Promise<unknown>) => Promise<unknown>;

/** vk-io parses a message's payload in its constructor: a payload that is not JSON is not one of our buttons, so it is dropped. */
function withReadablePayload(object: Record<string, unknown>): Record<string, unknown> {
  const message = object.message as Record<string, unknown> | undefined;
  if (typeof message?.payload !== 'string') return object;
  try {
    JSON.parse(message.payload);
    return object;
  } catch {
    const rest = { ...message };
    delete rest.payload;
    return { ...object, message: rest };
  }
}

function isUpdate(value: unknown): value is VkUpdate {
  if (typeof value !== 'object' || value === null) return false;
  const u = value as Record<string, unknown>;
  return typeof u.type === 'string' && typeof u.event_id === 'string' && u.event_id !== '' && u.event_id.length <= 128 && typeof u.object === 'object' && u.object !== null;
}

/** A display name per user (users.get), cached so a conversation costs one look-up an hour. */
function nameCache(vk: VK, logger: Logger, max = 10_000, ttlMs = 3600_000) {
  const names = new Map<number, { name: string | undefined; at: number }>();
  return async (userId: number): Promise<string | undefined> => {
    const hit = names.get(userId);
    if (hit && Date.now() - hit.at < ttlMs) return hit.name;
    let name: string | undefined;
    try {
      const [user] = await vk.api.users.get({ user_ids: [userId] });
      name = user?.first_name;
    } catch (err) {
      // A greeting without the name is fine; an answer that never comes is not.
      logger.warn({ err, userId }, 'vk: users.get failed');
    }
    names.delete(userId);
    names.set(userId, { name, at: Date.now() });
    while (names.size > max) {
      const oldest = names.keys().next();
      if (oldest.done) break;
      names.delete(oldest.value);
    }
    return name;
  };
}

// --- features: registered in order in createVkBot ----------------------------------------------

/** Private dialogues with people only; in group chats the bot stays silent. */
function privateDialoguesOnly(): Middleware {
  return async (ctx, next) => {
    if (ctx instanceof MessageContext) {
      if (ctx.isOutbox || ctx.senderId <= 0 || ctx.peerId >= CHAT_PEER_OFFSET || ctx.peerId !== ctx.senderId) return;
      return next();
    }
    if (ctx instanceof MessageEventContext) {
      if (ctx.userId <= 0 || ctx.peerId !== ctx.userId) return;
      return next();
    }
  };
}

/** A callback button: answered first (stops its spinner), then its payload is the flows' action. */
function callbackFeature(vk: VK, respond: Respond, logger: Logger): Middleware {
  return async (ctx, next) => {
    if (!(ctx instanceof MessageEventContext)) return next();
    await vk.api.messages
      .sendMessageEventAnswer({ event_id: ctx.eventId, user_id: ctx.userId, peer_id: ctx.peerId })
      .catch((err: unknown) => logger.warn({ err }, 'vk: sendMessageEventAnswer failed'));
    const payload = parseButtonPayload(ctx.eventPayload);
    if (!payload) return;
    const input: Input = 'start' in payload ? { kind: 'start' } : { kind: 'action', action: payload.action, arg: payload.arg };
    await respond(ctx, ctx.peerId, { channel: 'vk', userId: String(ctx.userId) }, input);
  };
}

/** The message's input: VK's Start button or an invite link's ref → start; our buttons → their action; else its text. */
function messageInput(ctx: { messagePayload: unknown; referralValue?: string | undefined; text?: string | undefined }): Input {
  const payload = parseButtonPayload(ctx.messagePayload);
  if (payload && 'start' in payload) return startFromRef(ctx.referralValue);
  if (ctx.referralValue) return startFromRef(ctx.referralValue);
  if (payload) return { kind: 'action', action: payload.action, arg: payload.arg };
  // Stickers, photos, voice…: an empty text, which the flows answer with the menu.
  return { kind: 'text', text: ctx.text ?? '' };
}

function messageFeature(respond: Respond, nameOf: (userId: number) => Promise<string | undefined>): Middleware {
  return async (ctx, next) => {
    if (!(ctx instanceof MessageContext)) return next();
    const info = ctx.clientInfo as ClientInfo | undefined;
    stateOf(ctx).caps = capsOf(info);
    const sender: Sender = { channel: 'vk', userId: String(ctx.senderId), languageCode: languageCodeOf(info), firstName: await nameOf(ctx.senderId) };
    await respond(ctx, ctx.peerId, sender, messageInput(ctx));
  };
}

/**
 * The VK channel: updates in (→ flow `Input`), replies out (→ messages.send). Updates come from
 * the Callback API route or Bots Long Poll (vk.runner.ts) through `accept`. Holds no rule and
 * no dialogue state: both live in the flows, so any process can take the next update.
 */
export function createVkBot(deps: VkBotDeps): VkBot {
  const { vk, flows, logger, guard } = deps;
  const flood = deps.flood ?? DEFAULT_FLOOD_POLICY;
  const running = new Set<Promise<void>>();
  /** The tail of each person's queue: their updates are handled one after another. */
  const queues = new Map<number, Promise<void>>();

  const respond: Respond = async (ctx, peerId, sender, input) => {
    const replies = await flows.handle(sender, input);
    const state = stateOf(ctx);
    await renderReplies(vk, peerId, replies, { key: `event:${state.eventId}`, caps: state.caps, flood });
  };

  const errorBoundary: Middleware = async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const peerId = ctx instanceof MessageContext || ctx instanceof MessageEventContext ? ctx.peerId : undefined;
      if (isFloodControl(err)) {
        // VK refuses messages to this person for now: an apology would be refused too.
        logger.warn({ err, eventId: stateOf(ctx).eventId, peerId }, 'vk: flood control, answer not sent');
        return;
      }
      logger.error({ err, eventId: stateOf(ctx).eventId, peerId }, 'vk: update failed');
      if (!deps.i18n || peerId === undefined) return;
      const i18n = deps.i18n;
      const languageCode = ctx instanceof MessageContext ? languageCodeOf(ctx.clientInfo) : undefined;
      // In the person's own language when the database still answers.
      const lang = await flows.languageOf({ channel: 'vk', userId: String(peerId), languageCode }).catch(() => i18n.pickLanguage(languageCode));
      await renderReplies(vk, peerId, [{ text: i18n.t(lang, 'vk:failure') }], { key: `failure:${stateOf(ctx).eventId}`, flood })
        .catch((e: unknown) => logger.warn({ err: e }, 'vk: could not report a failure'));
    }
  };

  vk.updates.use(errorBoundary);
  vk.updates.use(privateDialoguesOnly());
  vk.updates.use(callbackFeature(vk, respond, logger));
  vk.updates.use(messageFeature(respond, nameCache(vk, logger)));

  function contextOf(update: VkUpdate): MessageContext | MessageEventContext | null {
    const common = { api: vk.api, upload: vk.upload, groupId: deps.config.groupId, updateType: update.type, source: UpdateSource.WEBHOOK, state: { eventId: update.event_id, caps: MODERN_CLIENT } };
    if (update.type === 'message_new') return new MessageContext({ ...common, payload: withReadablePayload(update.object) as never });
    if (update.type === 'message_event') return new MessageEventContext({ ...common, payload: update.object as never });
    return null;
  }

  function enqueue(peerId: number, task: () => Promise<void>): void {
    const tail = (queues.get(peerId) ?? Promise.resolve()).then(task);
    const done = tail
      .catch((err: unknown) => logger.error({ err, peerId }, 'vk: unhandled update error'))
      .finally(() => {
        running.delete(done);
        if (queues.get(peerId) === done) queues.delete(peerId);
      });
    queues.set(peerId, done);
    running.add(done);
  }

  return {
    vk,
    groupId: deps.config.groupId,

    async accept(update) {
      if (!isUpdate(update) || !(VK_UPDATE_TYPES as readonly string[]).includes(update.type)) return 'ignored';
      if (update.type === 'message_allow' || update.type === 'message_deny') {
        // The person allowed or denied the community's messages: broadcasts follow it.
        const userId = Number(update.object.user_id);
        if (!Number.isSafeInteger(userId) || userId <= 0) return 'ignored';
        if (!(await guard.claim(update.event_id))) return 'duplicate';
        await flows.reachability?.({ channel: 'vk', userId: String(userId) }, update.type === 'message_allow');
        return 'accepted';
      }
      let ctx: MessageContext | MessageEventContext | null;
      try {
        ctx = contextOf(update);
      } catch (err) {
        logger.warn({ err, eventId: update.event_id }, 'vk: unreadable update ignored');
        return 'ignored';
      }
      if (!ctx || !Number.isSafeInteger(ctx.peerId)) return 'ignored';
      if (!(await guard.claim(update.event_id))) return 'duplicate';
      enqueue(ctx.peerId, () => vk.updates.dispatchMiddleware(ctx));
      return 'accepted';
    },

    async drain(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (running.size > 0 && Date.now() < deadline) {
        await Promise.race([Promise.allSettled([...running]), new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())))]);
      }
      if (running.size > 0) logger.warn({ running: running.size }, 'vk: stopped with updates still running');
    },
  };
}
