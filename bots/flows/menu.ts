import type { I18n } from '../../core/i18n/i18n.js';
import { LANGUAGES } from '../../core/i18n/i18n.js';
import type { FlowContext } from './flow.context.js';
import type { Keyboard } from './flow.types.js';

/**
 * Action names the flows put on buttons and read back. No ':' in them: Telegram's
 * callback data uses it to separate the action from its argument.
 */
export const ACTION = {
  balance: 'balance',
  card: 'card',
  history: 'history',
  invite: 'invite',
  settings: 'settings',
  help: 'help',
  /** "Where the card works": the partners and their terms at the member's level. */
  partners: 'partners',
  menu: 'menu',
  consent: 'consent',
  language: 'language',
  notifications: 'notifications',
  erase: 'erase',
  eraseConfirm: 'erase_confirm',
  /** Contests (contest.flow.ts, contest-admin.flow.ts); arg = the contest id. */
  contest: 'contest',
  contestClose: 'contest_close',
  contestDraw: 'contest_draw',
  contestList: 'contest_list',
  /** Marketing: the join question and the settings switch (arg yes/no), and a broadcast's unsubscribe button (arg = broadcast id). */
  marketing: 'marketing',
  unsubscribe: 'unsub',
} as const;
export type MenuAction = (typeof ACTION)['balance' | 'card' | 'history' | 'invite' | 'settings' | 'help' | 'partners'];

/** The main menu, row by row, with each button's label key. */
const MENU: readonly (readonly [MenuAction, string])[][] = [
  [
    [ACTION.balance, 'bot:menu.balance'],
    [ACTION.card, 'bot:menu.card'],
  ],
  [
    [ACTION.history, 'bot:menu.history'],
    [ACTION.invite, 'bot:menu.invite'],
  ],
  [
    [ACTION.settings, 'bot:menu.settings'],
    [ACTION.help, 'bot:menu.help'],
  ],
  [[ACTION.partners, 'bot:menu.partners']],
];

/** Commands a person may type instead of pressing a button (the terminal chat, Telegram's /menu). */
const COMMANDS: Record<string, string> = {
  '/balance': ACTION.balance,
  '/card': ACTION.card,
  '/history': ACTION.history,
  '/invite': ACTION.invite,
  '/settings': ACTION.settings,
  '/help': ACTION.help,
  '/partners': ACTION.partners,
  '/menu': ACTION.menu,
};

export function mainMenu(ctx: FlowContext): Keyboard {
  return { kind: 'menu', rows: MENU.map((row) => row.map(([action, key]) => ({ label: ctx.t(key), action }))) };
}

/** Letters and digits only, lower case: 'баланс' matches the '💰 Баланс' button. */
function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * The menu action a typed text stands for: a menu label in either language (channels whose
 * menu buttons send their label as text) or a command; null for anything else.
 */
export function menuActionFor(i18n: I18n, text: string): string | null {
  const trimmed = text.trim();
  const command = COMMANDS[trimmed.split(/[\s@]/)[0]?.toLowerCase() ?? ''];
  if (command) return command;
  const wanted = normalize(trimmed);
  if (wanted === '') return null;
  for (const [action, key] of MENU.flat()) {
    if (LANGUAGES.some((lang) => normalize(i18n.t(lang, key)) === wanted)) return action;
  }
  return null;
}
