import type { Runtime } from '../infra/runtime.js';
import type { RoleHandle } from '../api/api.role.js';

/** The `bots` role: every configured channel; a channel without credentials stays off and says why. */
export async function startBots(rt: Runtime): Promise<RoleHandle> {
  const tg = rt.config.telegram;
  const summary = [tg.enabled ? `Telegram: on (${tg.mode.kind})` : `Telegram: off, ${tg.reason}`];
  return {
    summary,
    async close() {
      // channels register their own closers as they are added
    },
  };
}
