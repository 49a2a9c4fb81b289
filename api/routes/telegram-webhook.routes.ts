import { BotError, type Bot } from 'grammy';
import type { Update } from 'grammy/types';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sameSecret } from '../../core/shared/secrets.js';
import { errorBody } from '../plugins/errors.plugin.js';

export const TELEGRAM_WEBHOOK_PATH = '/telegram/webhook';
const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

function isUpdate(body: unknown): body is Update {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Number.isSafeInteger((body as { update_id?: unknown }).update_id);
}

/**
 * POST /telegram/webhook: Telegram's webhook (TELEGRAM_WEBHOOK_URL must point here). The
 * secret header is checked before the body is even read; a wrong or missing one is 401 and
 * the update goes nowhere. A good update is answered 200 at once and handled in the
 * background (Telegram waits for the answer before sending that chat's next update; the bot
 * keeps each chat in order itself); app.close() waits for updates still running.
 */
export function telegramWebhookRoutes(deps: { bot: Bot; secret: string }) {
  const { bot, secret } = deps;
  return async function routes(app: FastifyInstance): Promise<void> {
    const running = new Set<Promise<void>>();
    app.addHook('onClose', async () => {
      await Promise.allSettled([...running]);
    });

    const checkSecret = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const given = req.headers[SECRET_HEADER];
      if (typeof given !== 'string' || !sameSecret(given, secret)) {
        await reply.status(401).send(errorBody('unauthorized', 'Missing or wrong X-Telegram-Bot-Api-Secret-Token'));
      }
    };

    app.post(TELEGRAM_WEBHOOK_PATH, { onRequest: checkSecret, schema: { hide: true } }, async (req, reply) => {
      if (!isUpdate(req.body)) return reply.status(400).send(errorBody('bad_request', 'Body must be a Telegram Update'));
      const update = req.body;
      const task = (async () => {
        try {
          if (!bot.isInited()) await bot.init();
          await bot.handleUpdate(update);
        } catch (err) {
          if (err instanceof BotError) await bot.errorHandler(err as BotError);
          else throw err;
        }
      })()
        .catch((err: unknown) => req.log.error({ err, updateId: update.update_id }, 'telegram: webhook update failed'))
        .finally(() => running.delete(task));
      running.add(task);
      return reply.status(200).send({ ok: true });
    });
  };
}
