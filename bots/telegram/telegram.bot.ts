import { autoRetry } from '@grammyjs/auto-retry';
import { sequentialize } from '@grammyjs/runner';
import { Api, Bot, Composer, type BotError, type Context } from 'grammy';
import type { User, UserFromGetMe } from 'grammy/types';
import type { TelegramConfig } from '../../core/config.js';
import type { I18n } from '../../core/i18n/i18n.js';
import type { Logger } from '../../infra/logger.js';
import type { Flows, Input, Sender } from '../flows/flow.types.js';
import { startInput } from './telegram.commands.js';
import { KeyboardMemory, parseCallbackData, renderReplies } from './telegram.render.js';

export type EnabledTelegramConfig = Extract<TelegramConfig, { enabled: true }>;

export interface TelegramBotDeps {
  config: EnabledTelegramConfig;
  flows: Flows;
  logger: Logger;
  /** For the "something went wrong" answer of the error boundary; without it failures are only logged. */
  i18n?: I18n;
  /** Reply-keyboard labels per chat; pass one to share it with a notification sender in this process. */
  keyboards?: KeyboardMemory;
  /** The bot's getMe, when the caller already fetched it (to give the flows the username for invite links). */
  botInfo?: UserFromGetMe;
}

/** Update kinds the bot asks Telegram for (polling and webhook alike). */
export const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member'] as const;

/**
 * 429s are waited out (retry_after) and 5xx retried, a few times and never for long, so a
 * chat's queue does not stall; network failures are not retried blindly, because a message
 * that did reach Telegram would then be sent twice.
 */
function installRetry(api: Api): void {
  api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 30, rethrowHttpErrors: true }));
}

function clientOptions(config: EnabledTelegramConfig): { client?: { apiRoot: string } } {
  return config.apiRoot ? { client: { apiRoot: config.apiRoot.replace(/\/+$/, '') } } : {};
}

/**
 * A Bot API client without a bot (for processes that only send, e.g. the notification worker).
 * `waits: false` leaves 429s and 5xx to the caller: the notification worker puts the job back
 * rather than wait inside it (telegram.render.ts, telegramSender).
 */
export function createTelegramApi(config: EnabledTelegramConfig, opts: { waits?: boolean } = {}): Api {
  const api = new Api(config.token, clientOptions(config).client);
  if (opts.waits !== false) installRetry(api);
  return api;
}

export function senderOf(user: User): Sender {
  return { channel: 'telegram', userId: String(user.id), languageCode: user.language_code, firstName: user.first_name };
}

/** Telegram sends a phone without its '+' (international digits): put it back so it is not read as national. */
export function contactPhone(raw: string): string {
  const trimmed = raw.trim();
  return /^\d+$/.test(trimmed) ? `+${trimmed}` : trimmed;
}

type Respond = (ctx: Context, input: Input) => Promise<void>;

// --- features: one composer each, registered in order in createTelegramBot -------------------

/** The bot talks in private chats only; in groups and channels it stays silent. */
function privateChatsOnly(logger: Logger): Composer<Context> {
  const c = new Composer<Context>();
  c.use(async (ctx, next) => {
    if (ctx.chat?.type === 'private' && ctx.from && !ctx.from.is_bot) return next();
    if (ctx.callbackQuery) await ctx.answerCallbackQuery().catch((err: unknown) => logger.warn({ err }, 'telegram: answerCallbackQuery failed'));
  });
  return c;
}

/** The person blocked (kicked) or unblocked the bot: broadcasts skip a chat that may not be written to. */
function chatMemberFeature(flows: Flows): Composer<Context> {
  const c = new Composer<Context>();
  c.on('my_chat_member', async (ctx) => {
    const status = ctx.myChatMember.new_chat_member.status;
    await flows.reachability?.(senderOf(ctx.myChatMember.from), status !== 'kicked' && status !== 'left');
  });
  return c;
}

/** `/start <payload>` (deep links t.me/<bot>?start=ref_<code> arrive so). Other commands are text. */
function startFeature(respond: Respond): Composer<Context> {
  const c = new Composer<Context>();
  c.command('start', (ctx) => respond(ctx, startInput(ctx.match)));
  return c;
}

function contactFeature(respond: Respond): Composer<Context> {
  const c = new Composer<Context>();
  c.on('message:contact', (ctx) => {
    const contact = ctx.message.contact;
    // Only the sender's own contact proves the phone is theirs; a forwarded card is someone else's.
    return respond(ctx, { kind: 'contact', phone: contactPhone(contact.phone_number), own: contact.user_id === ctx.from.id });
  });
  return c;
}

function callbackFeature(respond: Respond, logger: Logger): Composer<Context> {
  const c = new Composer<Context>();
  c.on('callback_query:data', async (ctx) => {
    // Answered first and always, so the button's spinner stops whatever the flow does.
    await ctx.answerCallbackQuery().catch((err: unknown) => logger.warn({ err }, 'telegram: answerCallbackQuery failed'));
    const { action, arg } = parseCallbackData(ctx.callbackQuery.data);
    await respond(ctx, { kind: 'action', action, arg });
  });
  // A game or a stale button without data: just stop the spinner.
  c.on('callback_query', (ctx) => ctx.answerCallbackQuery());
  return c;
}

function textFeature(respond: Respond, keyboards: KeyboardMemory): Composer<Context> {
  const c = new Composer<Context>();
  c.on('message:text', (ctx) => {
    const text = ctx.message.text;
    const button = keyboards.resolve(ctx.chat.id, text);
    return respond(ctx, button ? { kind: 'action', action: button.action, arg: button.arg } : { kind: 'text', text });
  });
  return c;
}

/** Stickers, photos, voice…: an empty text, which the flows answer with the menu. Last on purpose. */
function catchAllFeature(respond: Respond): Composer<Context> {
  const c = new Composer<Context>();
  c.on('message', (ctx) => respond(ctx, { kind: 'text', text: '' }));
  return c;
}

/**
 * The Telegram channel: updates in (→ flow `Input`), replies out (→ Bot API calls). Holds no
 * rule and no dialogue state: both live in the flows, so any process (or a restarted one)
 * can continue a conversation.
 */
export function createTelegramBot(deps: TelegramBotDeps): Bot {
  const { flows, logger } = deps;
  const bot = new Bot(deps.config.token, { ...clientOptions(deps.config), ...(deps.botInfo ? { botInfo: deps.botInfo } : {}) });
  installRetry(bot.api);
  const keyboards = deps.keyboards ?? new KeyboardMemory();

  const respond: Respond = async (ctx, input) => {
    if (!ctx.from || !ctx.chat) return;
    const replies = await flows.handle(senderOf(ctx.from), input);
    await renderReplies(ctx.api, ctx.chat.id, replies, keyboards);
  };

  const onError = async (err: BotError): Promise<void> => {
    const ctx = err.ctx;
    logger.error({ err: err.error, updateId: ctx.update.update_id, chatId: ctx.chat?.id }, 'telegram: update failed');
    if (!deps.i18n || ctx.chat?.type !== 'private') return;
    const i18n = deps.i18n;
    // In the person's saved language when the database still answers, else their Telegram's.
    const lang = ctx.from ? await flows.languageOf(senderOf(ctx.from)).catch(() => i18n.pickLanguage(ctx.from?.language_code)) : i18n.pickLanguage(undefined);
    const text = i18n.t(lang, 'telegram:failure');
    await ctx.api.sendMessage(ctx.chat.id, text).catch((e: unknown) => logger.warn({ err: e }, 'telegram: could not report a failure'));
  };

  // Updates of one chat are handled one after another (the runner handles chats concurrently).
  bot.use(sequentialize((ctx: Context) => (ctx.chat ? String(ctx.chat.id) : ctx.from ? `user:${ctx.from.id}` : undefined)));
  bot.errorBoundary(
    onError,
    privateChatsOnly(logger),
    chatMemberFeature(flows),
    startFeature(respond),
    contactFeature(respond),
    callbackFeature(respond, logger),
    textFeature(respond, keyboards),
    catchAllFeature(respond),
  );
  // Last resort (errors of the boundary's own handler, sequentialize).
  bot.catch((err) => logger.error({ err: err.error, updateId: err.ctx.update.update_id }, 'telegram: unhandled bot error'));
  return bot;
}
