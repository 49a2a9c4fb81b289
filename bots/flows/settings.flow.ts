import { isLanguage, LANGUAGES, type Language } from '../../core/i18n/i18n.js';
import { makeContext, requireMember, type FlowContext } from './flow.context.js';
import type { Button, Reply } from './flow.types.js';
import { ACTION, mainMenu } from './menu.js';
import { marketingOn } from './marketing.flow.js';

/** Each language by its own name: a person who cannot read this one still finds theirs. */
const LANGUAGE_NAME_KEYS: Record<Language, string> = { ru: 'bot:settings.language_name.ru', en: 'bot:settings.language_name.en' };

/** Settings: language, notifications on/off, delete my data. */
export async function settingsReplies(ctx: FlowContext): Promise<Reply[]> {
  const member = requireMember(ctx);
  const text = [
    ctx.t('bot:settings.title'),
    ctx.t('bot:settings.language', { language: ctx.t(LANGUAGE_NAME_KEYS[ctx.lang]) }),
    member.notifications ? ctx.t('bot:settings.notifications_on') : ctx.t('bot:settings.notifications_off'),
    marketingOn(ctx) ? ctx.t('bot:marketing.settings_on') : ctx.t('bot:marketing.settings_off'),
  ].join('\n');
  const languages: Button[] = LANGUAGES.map((lang) => ({
    label: `${lang === ctx.lang ? '✓ ' : ''}${ctx.t(LANGUAGE_NAME_KEYS[lang])}`,
    action: ACTION.language,
    arg: lang,
  }));
  const notifications: Button = member.notifications
    ? { label: ctx.t('bot:settings.turn_off'), action: ACTION.notifications, arg: 'off' }
    : { label: ctx.t('bot:settings.turn_on'), action: ACTION.notifications, arg: 'on' };
  const marketing: Button = marketingOn(ctx)
    ? { label: ctx.t('bot:marketing.turn_off'), action: ACTION.marketing, arg: 'no' }
    : { label: ctx.t('bot:marketing.turn_on'), action: ACTION.marketing, arg: 'yes' };
  const erase: Button = { label: ctx.t('bot:settings.erase'), action: ACTION.erase };
  return [{ text, keyboard: { kind: 'inline', rows: [languages, [notifications], [marketing], [erase]] } }];
}

/** Switches the language; the answer (and the menu's labels) come in the new one. */
export async function languageReplies(ctx: FlowContext, arg: string | undefined): Promise<Reply[]> {
  const member = requireMember(ctx);
  if (!isLanguage(arg)) return settingsReplies(ctx);
  const updated = await ctx.deps.core.members.update(String(member._id), { language: arg });
  const next = makeContext(ctx.deps, ctx.sender, { member: updated, lang: arg, step: 'menu', data: ctx.data });
  await next.save('menu', ctx.data);
  return [{ text: next.t('bot:settings.language_set'), keyboard: mainMenu(next) }];
}

export async function notificationsReplies(ctx: FlowContext, arg: string | undefined): Promise<Reply[]> {
  const member = requireMember(ctx);
  if (arg !== 'on' && arg !== 'off') return settingsReplies(ctx);
  await ctx.deps.core.members.update(String(member._id), { notifications: arg === 'on' });
  return [{ text: arg === 'on' ? ctx.t('bot:settings.notifications_set_on') : ctx.t('bot:settings.notifications_set_off'), keyboard: mainMenu(ctx) }];
}

export function eraseAskReplies(ctx: FlowContext): Reply[] {
  requireMember(ctx);
  const rows: Button[][] = [
    [
      { label: ctx.t('bot:settings.erase_yes'), action: ACTION.eraseConfirm, arg: 'yes' },
      { label: ctx.t('bot:settings.erase_no'), action: ACTION.eraseConfirm, arg: 'no' },
    ],
  ];
  return [{ text: ctx.t('bot:settings.erase_confirm'), keyboard: { kind: 'inline', rows } }];
}

/**
 * "Delete my data": the core erases or anonymizes everything about the member (core/privacy/
 * erasure.service.ts); the ledger stays for accounting, which the answer says.
 */
export async function eraseConfirmReplies(ctx: FlowContext, arg: string | undefined): Promise<Reply[]> {
  const member = requireMember(ctx);
  if (arg !== 'yes') return [{ text: ctx.t('bot:settings.erase_cancelled'), keyboard: mainMenu(ctx) }];
  // Every chat of the member loses its dialogue state, this one included.
  await ctx.deps.core.privacy.erase(String(member._id));
  return [{ text: ctx.t('bot:settings.erased'), keyboard: { kind: 'remove' } }];
}
