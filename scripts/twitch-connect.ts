/**
 * `npm run twitch:connect`: connects the broadcaster's Twitch account for channel-point
 * giveaways (device code flow: open the printed URL, type the code, approve). The token is
 * stored in MongoDB (collection twitch_tokens); the bots role refreshes it from then on.
 * Reads the same environment as `npm start` (TWITCH_CLIENT_ID, MONGODB_URL or the embedded
 * FerretDB in DATA_DIR — stop `npm start` first when it runs the embedded database).
 */
import { connectTwitch, TwitchConnectError } from '../bots/twitch/twitch.connect.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { createLogger } from '../infra/logger.js';
import { startCoreRuntime } from '../infra/runtime.js';
import { createShutdown } from '../infra/shutdown.js';

async function main(): Promise<number> {
  const config = loadConfig();
  if (!config.twitch.enabled) {
    console.error(`Twitch is off: ${config.twitch.reason}. Create an app at https://dev.twitch.tv/console (client type Public) and set TWITCH_CLIENT_ID.`);
    return 1;
  }
  // The lean runtime, as the admin CLI uses it: MongoDB (found or started) and the core on it.
  const logger = createLogger('warn');
  const shutdown = createShutdown(logger, config.shutdownTimeoutMs);
  try {
    const rt = await startCoreRuntime(config, logger, shutdown);
    await connectTwitch({ clientId: config.twitch.clientId, authBaseUrl: config.twitch.authBaseUrl, tokens: rt.core.twitch.tokens, print: (l) => console.log(l) });
    return 0;
  } finally {
    await shutdown.run('twitch:connect done');
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof TwitchConnectError) console.error(err.message);
    else console.error(err);
    process.exit(1);
  },
);
