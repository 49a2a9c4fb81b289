import { GrammyError, type Api } from 'grammy';
import type { I18n } from '../../core/i18n/i18n.js';
import type { BroadcastMessage, BroadcastSendResult } from '../../infra/broadcast-delivery.js';
import { broadcastReply } from '../flows/broadcast.render.js';
import { renderReplies } from './telegram.render.js';

/** How long a broadcast message waits after a Telegram server error (5xx names no wait). */
const SERVER_ERROR_PAUSE_MS = 3000;

/**
 * Broadcast messages to Telegram chats. Give it an Api that does not wait out 429s
 * (createTelegramApi(config, { waits: false })): a 429 is handed back as a global retry, and the
 * broadcast worker pauses every sender for retry_after. 403 (blocked by the user, deactivated)
 * makes the chat unreachable; a failure of the connection counts as failed, never retried,
 * because the message may have reached Telegram.
 */
export function telegramBroadcastSender(api: Api, i18n: I18n): (chatId: string, m: BroadcastMessage) => Promise<BroadcastSendResult> {
  return async (chatId, m) => {
    try {
      await renderReplies(api, chatId, [broadcastReply(i18n, m)]);
      return { status: 'sent' };
    } catch (err) {
      if (!(err instanceof GrammyError)) return { status: 'failed', reason: `network: ${(err as Error).message}`.slice(0, 200) };
      if (err.error_code === 429) return { status: 'retry', afterMs: (err.parameters.retry_after ?? 1) * 1000, global: true, reason: err.description };
      if (err.error_code === 403) return { status: 'blocked', reason: err.description };
      if (err.error_code >= 500) return { status: 'retry', afterMs: SERVER_ERROR_PAUSE_MS, global: false, reason: `${err.error_code} ${err.description}` };
      return { status: 'failed', reason: `${err.error_code} ${err.description}`.slice(0, 200) };
    }
  };
}
