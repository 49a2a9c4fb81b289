import type { I18n } from '../../core/i18n/i18n.js';
import { createTwitchTokenRepository } from '../../core/twitch/twitch-token.repository.js';
import type { Runtime } from '../../infra/runtime.js';
import { createTwitchClient } from './twitch.client.js';
import { createTwitchGiveaway } from './twitch.giveaway.js';

/**
 * The Twitch part of the bots role: with a client id and a stored broadcaster token, polls
 * channel-point redemptions of twitch contests; otherwise says why it is off.
 */
export async function startTwitch(rt: Runtime, i18n: I18n): Promise<{ summary: string; stop: () => Promise<void> }> {
  const cfg = rt.config.twitch;
  const none = async (): Promise<void> => undefined;
  if (!cfg.enabled) return { summary: `Twitch: off, ${cfg.reason}`, stop: none };
  const tokens = createTwitchTokenRepository(rt.mongo);
  await tokens.init();
  const log = rt.logger.child({ channel: 'twitch' });
  const client = await createTwitchClient({ clientId: cfg.clientId, clientSecret: cfg.clientSecret, channel: cfg.channel, tokens, log });
  if (!client) {
    const which = cfg.channel ? ` for ${cfg.channel}` : '';
    return { summary: `Twitch: off, no connected account${which}: run npm run twitch:connect`, stop: none };
  }
  const giveaway = createTwitchGiveaway({ core: rt.core, conn: rt.mongo, client, i18n, log, options: { pollMs: cfg.pollMs } });
  await giveaway.init();
  giveaway.start();
  return {
    summary: `Twitch: on (channel-point giveaways on twitch.tv/${client.broadcaster.login}, polling every ${cfg.pollMs} ms)`,
    stop: () => giveaway.stop(),
  };
}
