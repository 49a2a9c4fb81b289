import { GrammyError, InputFile, type Api } from 'grammy';
import type { ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove } from 'grammy/types';
import { DeliveryDeferred, type ChannelSender } from '../../infra/delivery.js';
import type { Button, Keyboard, Reply } from '../flows/flow.types.js';

/**
 * Reply → Bot API calls. Texts are the flows' small HTML subset, sent with parse_mode HTML;
 * keyboards map onto Telegram's reply and inline keyboards. A reply keyboard button sends its
 * label as plain text, so the labels shown to each chat are remembered (KeyboardMemory) and a
 * text equal to one comes back to the flows as that button's action.
 */

export type ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply;

/** Telegram's limit on callback_data. */
export const CALLBACK_DATA_MAX_BYTES = 64;
/** Telegram's limit on a caption, in characters after the markup is parsed. */
const CAPTION_MAX_CHARS = 1024;

/** `<action>` or `<action>:<arg>`; throws when Telegram would refuse it (BUTTON_DATA_INVALID). */
export function callbackData(action: string, arg?: string): string {
  if (action === '' || action.includes(':')) throw new Error(`callback action must be non-empty and without ':', got ${JSON.stringify(action)}`);
  const data = arg === undefined ? action : `${action}:${arg}`;
  const bytes = Buffer.byteLength(data, 'utf8');
  if (bytes > CALLBACK_DATA_MAX_BYTES) throw new Error(`callback_data "${data}" is ${bytes} bytes, Telegram allows ${CALLBACK_DATA_MAX_BYTES}`);
  return data;
}

/** The inverse of callbackData: the action is everything before the first ':'. */
export function parseCallbackData(data: string): { action: string; arg?: string } {
  const colon = data.indexOf(':');
  return colon < 0 ? { action: data } : { action: data.slice(0, colon), arg: data.slice(colon + 1) };
}

function inlineButton(b: Button): InlineKeyboardButton {
  return b.url ? { text: b.label, url: b.url } : { text: b.label, callback_data: callbackData(b.action, b.arg) };
}

const textButton = (b: Button): KeyboardButton => ({ text: b.label });

export function replyMarkup(keyboard: Keyboard): ReplyMarkup {
  switch (keyboard.kind) {
    case 'menu':
      return { keyboard: keyboard.rows.map((row) => row.map(textButton)), resize_keyboard: true, is_persistent: true };
    case 'inline':
      return { inline_keyboard: keyboard.rows.map((row) => row.map(inlineButton)) };
    case 'contact':
      return {
        keyboard: [[{ text: keyboard.label, request_contact: true }], ...(keyboard.rows ?? []).map((row) => row.map(textButton))],
        resize_keyboard: true,
        one_time_keyboard: true,
      };
    case 'remove':
      return { remove_keyboard: true };
  }
}

/** What the user reads of our HTML subset (tags dropped, entities decoded): for Telegram's length limits. */
export function visibleLength(html: string): number {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/gi, '_').length;
}

/**
 * Which reply-keyboard label stands for which button in each chat (the keyboard the chat sees
 * now), so a press comes back to the flows as an action. Only this process's memory: after a
 * restart a press arrives as its label text, which the flows read as the same action
 * (bots/flows/menu.ts, menuActionFor). Bounded: the chats seen longest ago are forgotten first.
 */
export class KeyboardMemory {
  private readonly chats = new Map<string, Map<string, Button>>();

  constructor(private readonly maxChats = 50_000) {}

  /** Records the reply keyboard a chat was just sent (inline keyboards do not replace it). */
  remember(chatId: number | string, keyboard: Keyboard | undefined): void {
    if (!keyboard || keyboard.kind === 'inline') return;
    const key = String(chatId);
    const buttons = new Map<string, Button>();
    // After 'remove' the chat has no buttons: what it types is text, whatever it says.
    if (keyboard.kind !== 'remove') for (const b of (keyboard.rows ?? []).flat()) if (!b.url) buttons.set(b.label, b);
    this.chats.delete(key);
    this.chats.set(key, buttons);
    while (this.chats.size > this.maxChats) {
      const oldest = this.chats.keys().next();
      if (oldest.done) break;
      this.chats.delete(oldest.value);
    }
  }

  /** The button of this chat's reply keyboard whose label the text is. */
  resolve(chatId: number | string, text: string): Button | undefined {
    return this.chats.get(String(chatId))?.get(text);
  }
}

/** Sends the replies to one chat, in order. */
export async function renderReplies(api: Api, chatId: number | string, replies: readonly Reply[], memory?: KeyboardMemory): Promise<void> {
  for (const reply of replies) await renderReply(api, chatId, reply, memory);
}

async function renderReply(api: Api, chatId: number | string, reply: Reply, memory: KeyboardMemory | undefined): Promise<void> {
  const markup = reply.keyboard ? replyMarkup(reply.keyboard) : undefined;
  const withMarkup = markup ? { reply_markup: markup } : {};
  const hasText = reply.text.trim() !== '';
  let markupSent = false;
  if (reply.image) {
    const photo = new InputFile(reply.image.png, reply.image.filename);
    // A caption longer than Telegram allows goes as its own message after the picture.
    const captioned = hasText && visibleLength(reply.text) <= CAPTION_MAX_CHARS;
    const carriesMarkup = captioned || !hasText;
    await api.sendPhoto(chatId, photo, {
      ...(captioned ? { caption: reply.text, parse_mode: 'HTML' as const } : {}),
      ...(carriesMarkup ? withMarkup : {}),
    });
    markupSent = carriesMarkup;
    if (!captioned && hasText) {
      await api.sendMessage(chatId, reply.text, { parse_mode: 'HTML', link_preview_options: { is_disabled: true }, ...withMarkup });
      markupSent = true;
    }
  } else if (hasText) {
    await api.sendMessage(chatId, reply.text, { parse_mode: 'HTML', link_preview_options: { is_disabled: true }, ...withMarkup });
    markupSent = true;
  }
  if (reply.document) {
    await api.sendDocument(chatId, new InputFile(reply.document.data, reply.document.filename), markupSent ? {} : withMarkup);
    markupSent = true;
  }
  if (markupSent) memory?.remember(chatId, reply.keyboard);
}

/** How long a notice is put back after a Telegram server error (5xx): Telegram names no wait then. */
const SERVER_ERROR_PAUSE_MS = 3000;

/**
 * A notification sender for the notify worker: replies to a Telegram user (private chat id =
 * user id). It never waits: a 429 becomes DeliveryDeferred with Telegram's retry_after (and a
 * 5xx with a short pause), so the worker puts the job back instead of holding up the queue.
 * Give it an Api that does not wait out 429s itself (createTelegramApi(config, { waits: false })).
 */
export function telegramSender(api: Api, memory?: KeyboardMemory): ChannelSender<Reply[]> {
  return async (userId, replies) => {
    try {
      await renderReplies(api, userId, replies, memory);
    } catch (err) {
      if (err instanceof GrammyError && err.error_code === 429) throw new DeliveryDeferred((err.parameters.retry_after ?? 1) * 1000, 'telegram: 429, retry later');
      if (err instanceof GrammyError && err.error_code >= 500) throw new DeliveryDeferred(SERVER_ERROR_PAUSE_MS, `telegram: ${err.error_code}, retry later`);
      throw err;
    }
  };
}
