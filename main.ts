import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { startApi } from './api/api.role.js';
import { insightJobsClient } from './workers/insight/insight.jobs.js';
import { broadcastJobsClient } from './workers/broadcasts/broadcast.queues.js';
import { startBots } from './bots/bots.role.js';
import { createChannels, type Channels } from './bots/channels.js';
import { startTwitchHelix } from './bots/twitch/twitch.runner.js';
import { ConfigError, loadConfig, ROLES, type Config, type Role } from './core/config.js';
import { createLogger } from './infra/logger.js';
import { startRuntime } from './infra/runtime.js';
import { createShutdown } from './infra/shutdown.js';
import { startWorkers } from './workers/worker.role.js';

/**
 * The entry point and composition root: reads the config, starts the runtime (servers, core,
 * queues, wallet: infra/runtime.ts), builds the chat channels over the core, and gives each
 * role it runs the pieces it needs. Roles and adapters never see the runtime or a connection.
 */

/** `npm run chat`: the whole product plus a terminal chat on stdin/stdout. */
const chatMode = process.argv.includes('--chat');

function readConfig(): Config {
  try {
    const config = loadConfig(process.env);
    const arg = process.argv.slice(2).find((a) => !a.startsWith('--'));
    if (arg === undefined) return config;
    if (!(ROLES as readonly string[]).includes(arg)) {
      throw new ConfigError([{ variable: 'role argument', message: `"${arg}" is not one of ${ROLES.join(', ')}` }]);
    }
    return { ...config, role: arg as Role };
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const config = readConfig();
  // In the terminal chat, stdout is the conversation: logs go to stderr, warnings and worse only.
  const logger = chatMode ? createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn', pino.destination(2)) : createLogger(config.logLevel);
  const print = (text: string): void => {
    (chatMode ? process.stderr : process.stdout).write(`${text}\n`);
  };
  const shutdown = createShutdown(logger, config.shutdownTimeoutMs);
  shutdown.installSignalHandlers();
  const crash = (err: unknown): void => {
    logger.fatal({ err }, 'crashed');
    void shutdown.run('crash', 1).then((code) => process.exit(code || 1));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  const lines: string[] = [];
  let chat: Channels['chat'];
  let channels: Channels | undefined;
  try {
    const rt = await startRuntime(config, logger, shutdown, { print: (l) => lines.push(l) });
    const { role } = config;
    // Broadcasts created by this process (API, panel) go straight to the planner's queue.
    rt.core.broadcasts.useJobs(broadcastJobsClient(rt.queues, config.broadcasts.recheckMs));
    lines.push(
      `Role: ${role}`,
      `MongoDB: ${rt.endpoints.mongo.source === 'external' ? 'MONGODB_URL' : `embedded ${rt.endpoints.mongo.source} on ${rt.endpoints.mongo.url}`} (db "${config.mongo.db}")`,
      `Redis: ${rt.endpoints.redis.source === 'external' ? 'REDIS_URL' : `embedded redis-server on ${rt.endpoints.redis.url}`}`,
    );
    // Started worker → bots → api, so shutdown (reverse order) stops intake first.
    // The api role needs the channels only to receive webhooks (Telegram webhook, VK Callback API).
    const needsChannels = role !== 'api' || config.telegram.enabled || (config.vk.enabled && config.vk.mode.kind === 'callback');
    const channelDeps = { config, core: rt.core, i18n: rt.i18n, redis: rt.redis, logger, wallet: rt.wallet?.wallet };
    channels = needsChannels
      ? await createChannels(
          channelDeps,
          chatMode ? { console: { input: process.stdin, output: process.stdout, userId: process.env.USER ?? 'local', languageCode: process.env.LANG?.slice(0, 2), colour: process.stdout.isTTY } } : {},
        )
      : undefined;
    chat = channels?.chat;
    if (role === 'all' || role === 'worker') {
      // Channel-point giveaways: needs TWITCH_CLIENT_ID and a token stored by `npm run twitch:connect`.
      const twitch = await startTwitchHelix({ config: config.twitch, tokens: rt.core.twitch.tokens, logger });
      const w = await startWorkers({
        config,
        core: rt.core,
        queues: rt.queues,
        events: rt.events,
        redis: rt.redis,
        logger,
        i18n: rt.i18n,
        wallet: rt.wallet,
        notifications: channels ? { flows: channels.flows, senders: channels.senders } : undefined,
        broadcastSenders: channels?.broadcastSenders,
        twitch: twitch.helix ? { helix: twitch.helix, pollMs: twitch.pollMs } : undefined,
      });
      shutdown.add('workers', () => w.close());
      lines.push(twitch.summary, ...w.summary);
    }
    if ((role === 'all' || role === 'bots') && channels) {
      const b = await startBots({ config, logger, redis: rt.redis }, channels);
      shutdown.add('bots', () => b.close());
      lines.push(...b.summary);
    }
    if (role === 'all' || role === 'api') {
      const a = await startApi({ config, logger, i18n: rt.i18n, core: rt.core, wallet: rt.wallet?.wallet, adminToken: rt.adminToken, redis: rt.redis, health: rt.health, insightJobs: insightJobsClient(rt.queues) }, channels);
      shutdown.add('http', () => a.close());
      lines.push(...a.summary);
    }
  } catch (err) {
    console.error(`Start-up failed: ${(err as Error).message}`);
    const code = await shutdown.run('start-up failed', 1);
    process.exit(code || 1);
  }
  lines.push(`Ready in ${Math.round(performance.now() - started)} ms. ${chatMode ? 'Ctrl-D or Ctrl-C to leave.' : 'Ctrl-C to stop.'}`);
  print(lines.map((l) => `  ${l}`).join('\n'));
  if (chatMode && chat && channels) {
    chat.start(channels.i18n.t(channels.i18n.pickLanguage(process.env.LANG), 'console:hint'));
    await chat.finished();
    process.exit(await shutdown.run('chat ended'));
  }
}

void main();
