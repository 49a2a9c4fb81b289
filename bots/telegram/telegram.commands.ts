import type { Api } from 'grammy';
import type { BotCommand } from 'grammy/types';
import { DEFAULT_LANGUAGE, LANGUAGES, type I18n, type Language } from '../../core/i18n/i18n.js';
import type { Input } from '../flows/flow.types.js';

interface CommandSpec {
  command: string;
  /** i18n key of the description shown in Telegram's command menu. */
  description: string;
}

/**
 * The command menu. `/start <payload>` is the flows' start input (deep links: ref_<code>);
 * every other command reaches the flows as its text, which they read as the menu action of
 * the same name (bots/flows/menu.ts).
 */
export const TELEGRAM_COMMANDS: readonly CommandSpec[] = [
  { command: 'start', description: 'telegram:commands.start' },
  { command: 'menu', description: 'telegram:commands.menu' },
  { command: 'balance', description: 'telegram:commands.balance' },
  { command: 'card', description: 'telegram:commands.card' },
  { command: 'history', description: 'telegram:commands.history' },
  { command: 'invite', description: 'telegram:commands.invite' },
  { command: 'settings', description: 'telegram:commands.settings' },
  { command: 'partners', description: 'telegram:commands.partners' },
  { command: 'help', description: 'telegram:commands.help' },
];

export function startInput(payload: string): Input {
  const p = payload.trim();
  return { kind: 'start', payload: p === '' ? undefined : p };
}

export function commandList(i18n: I18n, lang: Language): BotCommand[] {
  return TELEGRAM_COMMANDS.map((c) => ({ command: c.command, description: i18n.t(lang, c.description) }));
}

/**
 * Publishes the command menu in every language, and as the default (DEFAULT_LANGUAGE: what
 * clients without a language of ours see, matching the language the flows pick for them
 * when they send no code).
 */
export async function setTelegramCommands(api: Api, i18n: I18n): Promise<void> {
  for (const lang of LANGUAGES) await api.setMyCommands(commandList(i18n, lang), { language_code: lang });
  await api.setMyCommands(commandList(i18n, DEFAULT_LANGUAGE));
}
