/**
 * `npm run twitch:connect`: connects the broadcaster's Twitch account for channel-point
 * giveaways (device code flow: open the printed URL, type the code, approve). The token is
 * stored in MongoDB (collection twitch_tokens); the bots role refreshes it from then on.
 * Reads the same environment as `npm start` (TWITCH_CLIENT_ID, MONGODB_URL or the embedded
 * FerretDB in DATA_DIR — stop `npm start` first when it runs the embedded database).
 */
import { join } from 'node:path';
import { connectTwitch, TwitchConnectError } from '../bots/twitch/twitch.connect.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { createTwitchTokenRepository } from '../core/twitch/twitch-token.repository.js';
import { connectMongo, poolSizeFor } from '../infra/mongo.js';
import { provideMongo } from '../infra/servers.js';

async function main(): Promise<number> {
  const config = loadConfig();
  if (!config.twitch.enabled) {
    console.error(`Twitch is off: ${config.twitch.reason}. Create an app at https://dev.twitch.tv/console (client type Public) and set TWITCH_CLIENT_ID.`);
    return 1;
  }
  const ep = await provideMongo({
    url: config.mongo.kind === 'external' ? config.mongo.url : undefined,
    ferretdbBin: config.mongo.ferretdbBin,
    storage: { kind: 'dir', path: join(config.dataDir) },
  });
  const conn = await connectMongo(ep.url, config.mongo.db, config.mongo.connectTimeoutMs, { maxPoolSize: poolSizeFor(ep.source) });
  try {
    const tokens = createTwitchTokenRepository(conn);
    await tokens.init();
    await connectTwitch({ clientId: config.twitch.clientId, authBaseUrl: config.twitch.authBaseUrl, tokens, print: (l) => console.log(l) });
    return 0;
  } finally {
    await conn.close();
    await ep.stop();
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
