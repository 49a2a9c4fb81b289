import type { FastifyInstance } from 'fastify';
import type { VkBot } from '../../bots/vk/vk.bot.js';
import { sameSecret } from '../../core/shared/secrets.js';
import { errorBody } from '../plugins/errors.plugin.js';

export const VK_CALLBACK_PATH = '/vk/callback';

export interface VkCallbackDeps {
  bot: VkBot;
  groupId: number;
  /** The "Secret key" of the Callback API server (VK_CALLBACK_SECRET). */
  secret: string;
  /** The string VK asks the server to return (VK_CONFIRMATION_CODE). */
  confirmation: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * POST /vk/callback: the community's Callback API server (Manage → API usage → Callback API →
 * address https://<PUBLIC_URL>/vk/callback). Every request VK sends carries the secret key,
 * the confirmation request too: without the right one, or for another community, the answer is
 * 403 and nothing is done. `confirmation` is answered with the confirmation code as text; any
 * other event is answered "ok" once taken: the bot drops an event_id it has already had (VK
 * sends an event again when it missed our "ok") and handles the rest in the background.
 * app.close() waits for updates still running.
 */
export function vkCallbackRoutes(deps: VkCallbackDeps) {
  const { bot } = deps;
  return async function routes(app: FastifyInstance): Promise<void> {
    app.addHook('onClose', async () => {
      await bot.drain();
    });

    app.post(VK_CALLBACK_PATH, { schema: { hide: true } }, async (req, reply) => {
      const body = req.body;
      if (!isObject(body) || typeof body.type !== 'string') return reply.status(400).send(errorBody('bad_request', 'Body must be a VK Callback API event'));
      if (typeof body.secret !== 'string' || !sameSecret(body.secret, deps.secret)) {
        return reply.status(403).send(errorBody('forbidden', 'Missing or wrong secret'));
      }
      if (body.group_id !== deps.groupId) return reply.status(403).send(errorBody('forbidden', 'Not this community'));
      if (body.type === 'confirmation') return reply.status(200).type('text/plain; charset=utf-8').send(deps.confirmation);
      // A failure to take it (Redis down) is a 500: VK sends the event again later.
      const taken = await bot.accept(body);
      if (taken !== 'accepted') req.log.debug({ eventId: body.event_id, type: body.type, taken }, 'vk: callback event not handled');
      return reply.status(200).type('text/plain; charset=utf-8').send('ok');
    });
  };
}
