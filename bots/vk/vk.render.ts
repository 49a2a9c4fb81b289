import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { APIError, APIErrorCode, KeyboardBuilder, type VK } from 'vk-io';
import { DeliveryDeferred, type ChannelSender } from '../../infra/delivery.js';
import type { Button, Keyboard, Reply } from '../flows/flow.types.js';

/**
 * Reply → VK API calls (messages.send, plus the photo and document uploads). VK shows plain
 * text: the flows' HTML subset is flattened (tags dropped, links written out, entities
 * decoded). Buttons carry the flows' action as JSON payload, so a press comes back as that
 * action whatever the label says.
 */

/** VK's limits: message text, button label, button payload. */
export const MESSAGE_MAX_CHARS = 4096;
export const LABEL_MAX_CHARS = 40;
export const PAYLOAD_MAX_CHARS = 255;

/** What the person's VK client can show (client_info of the message it sent). */
export interface ClientCaps {
  inlineKeyboard: boolean;
  callbackButtons: boolean;
}
/** Current clients; used when the update says nothing (a callback press, a notification). */
export const MODERN_CLIENT: ClientCaps = { inlineKeyboard: true, callbackButtons: true };

/** Error 9 ("Flood control": too many messages to one person): wait and send the same message again, a few times. */
export interface FloodPolicy {
  retries: number;
  waitMs: number;
}
export const DEFAULT_FLOOD_POLICY: FloodPolicy = { retries: 2, waitMs: 3000 };

export interface ButtonPayload {
  action: string;
  arg?: string;
}

/** The JSON payload of a button: `{"action":"history","arg":"2"}`; throws past VK's 255 characters. */
export function buttonPayload(action: string, arg?: string): ButtonPayload {
  const payload: ButtonPayload = arg === undefined ? { action } : { action, arg };
  const size = JSON.stringify(payload).length;
  if (action === '' || size > PAYLOAD_MAX_CHARS) throw new Error(`button payload for "${action}" is ${size} characters, VK allows ${PAYLOAD_MAX_CHARS}`);
  return payload;
}

/**
 * What a pressed button (or VK's own "Start" button) asks for. VK gives the payload as a JSON
 * string (message_new) or as the parsed object (message_event); anything else is not ours.
 */
export function parseButtonPayload(raw: unknown): ButtonPayload | { start: true } | null {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      return null;
    }
  }
  if (typeof value !== 'object' || value === null) return null;
  const o = value as Record<string, unknown>;
  if (o.command === 'start') return { start: true };
  if (typeof o.action !== 'string' || o.action === '') return null;
  return typeof o.arg === 'string' ? { action: o.action, arg: o.arg } : { action: o.action };
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', quot: '"', amp: '&', apos: "'" };

/** The flows' HTML subset as VK text: `<a href="u">t</a>` → `t (u)`, tags dropped, entities decoded. */
export function htmlToVkText(html: string): string {
  return html
    .replace(/<a\s+href="([^"]*)"\s*>(.*?)<\/a>/gs, (_m, href: string, text: string) => (text === href ? href : `${text} (${href})`))
    .replace(/<\/?[a-z][^>]*>/gi, '')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (entity, name: string) => {
      if (name.startsWith('#x') || name.startsWith('#X')) return String.fromCodePoint(parseInt(name.slice(2), 16));
      if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
      return ENTITIES[name.toLowerCase()] ?? entity;
    });
}

/** Splits a text longer than VK allows, at line breaks where possible. */
export function splitText(text: string, max = MESSAGE_MAX_CHARS): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const cut = rest.lastIndexOf('\n', max);
    const at = cut > max / 2 ? cut : max;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at).replace(/^\n/, '');
  }
  parts.push(rest);
  return parts;
}

function label(b: Button): string {
  if (b.label.length > LABEL_MAX_CHARS) throw new Error(`button label "${b.label}" is ${b.label.length} characters, VK allows ${LABEL_MAX_CHARS}`);
  return b.label;
}

function addRows(builder: KeyboardBuilder, rows: readonly Button[][], press: 'text' | 'callback'): KeyboardBuilder {
  for (const row of rows) {
    for (const b of row) {
      if (b.url) builder.urlButton({ label: label(b), url: b.url });
      else if (press === 'callback') builder.callbackButton({ label: label(b), payload: buttonPayload(b.action, b.arg) });
      else builder.textButton({ label: label(b), payload: buttonPayload(b.action, b.arg) });
    }
    builder.row();
  }
  return builder;
}

/**
 * A flows keyboard as VK keyboard JSON:
 * - menu: a keyboard under the input field that stays (text buttons with payload);
 * - inline: buttons under the message; callback buttons where the client has them (no message
 *   in the chat for a press), else text buttons; a client without inline keyboards gets a
 *   one-time keyboard of the same buttons;
 * - contact: VK has no share-phone button. The flows already ask to type the number on VK (the
 *   text is the hint), so the buttons given with it, if any, become a one-time keyboard, and
 *   without any the menu is hidden: the person types;
 * - remove: an empty keyboard, which hides the current one.
 */
export function keyboardJson(keyboard: Keyboard, caps: ClientCaps = MODERN_CLIENT): string {
  switch (keyboard.kind) {
    case 'menu':
      return addRows(new KeyboardBuilder(), keyboard.rows, 'text').oneTime(false).toString();
    case 'inline':
      if (!caps.inlineKeyboard) return addRows(new KeyboardBuilder(), keyboard.rows, 'text').oneTime(true).toString();
      return addRows(new KeyboardBuilder(), keyboard.rows, caps.callbackButtons ? 'callback' : 'text').inline(true).toString();
    case 'contact':
      return addRows(new KeyboardBuilder(), keyboard.rows ?? [], 'text').oneTime(true).toString();
    case 'remove':
      return new KeyboardBuilder().oneTime(true).toString();
  }
}

/**
 * VK's random_id: VK drops a message whose random_id it already has from this community for
 * this person, so the id is derived from what is delivered (the update or event, and which
 * message of its answer): a send retried (by vk-io, after flood control, or by handling the
 * same update again) never shows twice. 31 bits, never 0 (0 turns the check off).
 */
export function randomIdFor(peerId: number, key: string, part: number): number {
  const digest = createHash('sha256').update(`${peerId}:${key}:${part}`).digest();
  return digest.readUInt32BE(0) & 0x7fffffff || 1;
}

export function isFloodControl(err: unknown): boolean {
  return err instanceof APIError && err.code === APIErrorCode.FLOOD;
}

interface SendParams {
  peer_id: number;
  random_id: number;
  message?: string;
  attachment?: string;
  keyboard?: string;
  dont_parse_links: 1;
}

async function send(vk: VK, params: SendParams, flood: FloodPolicy): Promise<void> {
  // Error 6 (requests per second) is waited out by vk-io itself; error 9 is ours to wait out.
  for (let attempt = 0; ; attempt++) {
    try {
      await vk.api.messages.send(params);
      return;
    } catch (err) {
      if (!isFloodControl(err) || attempt >= flood.retries) throw err;
      await sleep(flood.waitMs * (attempt + 1));
    }
  }
}

export interface RenderOptions {
  /** Names what is delivered (`event:<event_id>`, `notify:<event id>`): the random_ids derive from it. */
  key: string;
  caps?: ClientCaps;
  flood?: FloodPolicy;
}

/** Uploads the reply's picture and file (for this person's dialogue) and returns them as attachments. */
async function attachmentsOf(vk: VK, peerId: number, reply: Reply): Promise<string[]> {
  const out: string[] = [];
  if (reply.image) {
    const photo = await vk.upload.messagePhoto({ peer_id: peerId, source: { value: reply.image.png, filename: reply.image.filename, contentType: 'image/png' } });
    out.push(photo.toString());
  }
  if (reply.document) {
    const doc = await vk.upload.messageDocument({
      peer_id: peerId,
      source: { value: reply.document.data, filename: reply.document.filename, contentType: reply.document.contentType },
    });
    out.push(doc.toString());
  }
  return out;
}

/**
 * Sends the replies to one person, in order. A reply is one message (its text, its picture
 * and file as attachments, its keyboard), more only when the text is longer than VK allows.
 */
export async function renderReplies(vk: VK, peerId: number, replies: readonly Reply[], opts: RenderOptions): Promise<void> {
  const flood = opts.flood ?? DEFAULT_FLOOD_POLICY;
  let part = 0;
  for (const reply of replies) {
    const attachments = await attachmentsOf(vk, peerId, reply);
    const text = htmlToVkText(reply.text).trim();
    const chunks = text === '' ? [] : splitText(text);
    if (chunks.length === 0 && attachments.length === 0) continue;
    const messages = chunks.length === 0 ? [''] : chunks;
    for (const [i, message] of messages.entries()) {
      const last = i === messages.length - 1;
      await send(
        vk,
        {
          peer_id: peerId,
          random_id: randomIdFor(peerId, opts.key, part++),
          ...(message !== '' ? { message } : {}),
          // The picture goes with the end of the text, as its caption would; so does the keyboard.
          ...(last && attachments.length > 0 ? { attachment: attachments.join(',') } : {}),
          ...(last && reply.keyboard ? { keyboard: keyboardJson(reply.keyboard, opts.caps) } : {}),
          dont_parse_links: 1,
        },
        flood,
      );
    }
  }
}

/** How long a notice to a flooded VK user is put back when VK says error 9 (VK names no wait). */
export const NOTIFY_FLOOD_PAUSE_MS = 5000;

/**
 * A notification sender for the notify worker: replies to a VK user (the dialogue's peer id is
 * the user id). It never waits out flood control: the worker runs one job at a time, so it says
 * "later" (DeliveryDeferred) and the job comes back after the pause. The random_ids derive from
 * the delivery key, so a message that did go out before the flood is not shown twice.
 */
export function vkSender(vk: VK, opts: { floodPauseMs?: number } = {}): ChannelSender<Reply[]> {
  return async (userId, replies, deliveryKey) => {
    try {
      await renderReplies(vk, Number(userId), replies, {
        // Without a key nothing names the delivery: a fresh id per call (vk-io's own retries still reuse it).
        key: `notify:${deliveryKey || randomUUID()}`,
        flood: { retries: 0, waitMs: 0 },
      });
    } catch (err) {
      if (isFloodControl(err)) throw new DeliveryDeferred(opts.floodPauseMs ?? NOTIFY_FLOOD_PAUSE_MS, 'vk: flood control for this user');
      throw err;
    }
  };
}
