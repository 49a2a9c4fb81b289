import type { Input } from '../flows/flow.types.js';
import { MODERN_CLIENT, type ClientCaps } from './vk.render.js';

/**
 * Reading VK updates as the flows' input. VK has no `/start` command: a dialogue opened by a
 * link `https://vk.me/<community>?ref=<value>` brings `ref` on its first message, and VK's own
 * "Start" button sends the payload `{"command":"start"}`.
 */

/** A start payload the flows know as it is (`ref_<code>`, `contest_<id>`); any other ref is an invite code. */
const FLOWS_PAYLOAD = /^(ref|contest)_[A-Za-z0-9_-]+$/;

/** The ref of an invite link → the flows' start input (`ref_<code>`). */
export function startFromRef(ref: string | undefined): Input {
  const value = ref?.trim() ?? '';
  if (value === '') return { kind: 'start' };
  return { kind: 'start', payload: FLOWS_PAYLOAD.test(value) ? value : `ref_${value}` };
}

/** VK's client_info.lang_id → a language tag (core/i18n pickLanguage reads it). */
const LANG_IDS: Readonly<Record<number, string>> = { 0: 'ru', 1: 'uk', 2: 'be', 3: 'en', 4: 'es', 5: 'fi', 6: 'de', 7: 'it', 97: 'kk' };

export interface ClientInfo {
  button_actions?: unknown;
  keyboard?: unknown;
  inline_keyboard?: unknown;
  lang_id?: unknown;
}

export function languageCodeOf(info: ClientInfo | undefined): string | undefined {
  return typeof info?.lang_id === 'number' ? LANG_IDS[info.lang_id] : undefined;
}

export function capsOf(info: ClientInfo | undefined): ClientCaps {
  if (!info) return MODERN_CLIENT;
  const actions = Array.isArray(info.button_actions) ? (info.button_actions as unknown[]) : [];
  return { inlineKeyboard: info.inline_keyboard !== false, callbackButtons: actions.includes('callback') };
}
