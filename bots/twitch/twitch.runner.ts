import type { TwitchConfig } from '../../core/config.js';
import type { HelixPort } from '../../core/twitch/helix.port.js';
import type { TwitchTokenRepository } from '../../core/twitch/twitch-token.repository.js';
import type { Logger } from '../../infra/logger.js';
import { createTwitchClient, helixPort } from './twitch.client.js';

/**
 * Twitch at start-up: with a client id and a broadcaster token stored by `npm run
 * twitch:connect`, the Helix port the worker's giveaway poll uses; otherwise says why it is off.
 */
export async function startTwitchHelix(deps: { config: TwitchConfig; tokens: TwitchTokenRepository; logger: Logger }): Promise<{ summary: string; helix: HelixPort | null; pollMs: number }> {
  const cfg = deps.config;
  if (!cfg.enabled) return { summary: `Twitch: off, ${cfg.reason}`, helix: null, pollMs: 0 };
  const log = deps.logger.child({ channel: 'twitch' });
  const client = await createTwitchClient({ clientId: cfg.clientId, clientSecret: cfg.clientSecret, channel: cfg.channel, tokens: deps.tokens, log });
  if (!client) {
    const which = cfg.channel ? ` for ${cfg.channel}` : '';
    return { summary: `Twitch: off, no connected account${which}: run npm run twitch:connect`, helix: null, pollMs: 0 };
  }
  return {
    summary: `Twitch: on (channel-point giveaways on twitch.tv/${client.broadcaster.login}, polling every ${cfg.pollMs} ms)`,
    helix: helixPort(client),
    pollMs: cfg.pollMs,
  };
}
