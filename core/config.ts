import { z } from 'zod';

/** Roles one process can play; `all` is the small-store single process. */
export const ROLES = ['all', 'api', 'bots', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const emptyToUndefined = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const optionalUrl = z.preprocess(emptyToUndefined, z.url().optional());
const port = z.coerce.number().int().min(0).max(65535);

/** Raw environment schema: one entry per variable in .env.example. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  ROLE: z.enum(ROLES).default('all'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  PUBLIC_URL: optionalUrl,
  ADMIN_TOKEN: z.preprocess(emptyToUndefined, z.string().min(24, 'must be at least 24 characters').optional()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  MONGODB_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
      .optional(),
  ),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, _ and - only').default('loyalty'),
  MONGODB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(8000),
  FERRETDB_BIN: optionalString,
  REDIS_URL: z.preprocess(emptyToUndefined, z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional()),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_:-]{1,64}$/, 'letters, digits, _ : and - only').default('loyalty'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(8000),
  LEDGER_BUDGET_MS: z.coerce.number().int().min(500).max(120000).default(10000),
  LEDGER_SWEEP_EVERY_MS: z.coerce.number().int().min(5000).max(86400000).default(60000),
  // Key of the phone hashes that keep bonuses once per phone across erasures (kept outside the database).
  PHONE_HASH_SECRET: z.preprocess(emptyToUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
  TELEGRAM_BOT_TOKEN: z.preprocess(emptyToUndefined, z.string().regex(/^\d+:[\w-]{20,}$/, 'looks like 123456:ABC… from @BotFather').optional()),
  TELEGRAM_API_ROOT: optionalUrl,
  TELEGRAM_WEBHOOK_URL: optionalUrl,
  TELEGRAM_WEBHOOK_SECRET: z.preprocess(emptyToUndefined, z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, '16–256 of A-Z a-z 0-9 _ -').optional()),
  // VK community bot: the community's access token (Manage → API usage → Access tokens, with "messages" and "photos" rights).
  VK_GROUP_TOKEN: z.preprocess(emptyToUndefined, z.string().regex(/^[A-Za-z0-9._-]{32,512}$/, 'the community access token (vk1.a.… or 85 hex characters)').optional()),
  VK_GROUP_ID: z.preprocess(emptyToUndefined, z.coerce.number().int().positive('the community id, a positive number (club<id>)').optional()),
  VK_CALLBACK_SECRET: z.preprocess(emptyToUndefined, z.string().regex(/^[A-Za-z0-9]{16,50}$/, '16–50 of A-Z a-z 0-9 (the "Secret key" of the Callback API server)').optional()),
  VK_CONFIRMATION_CODE: z.preprocess(emptyToUndefined, z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'the string the Callback API server must return, letters and digits').optional()),
  VK_API_BASE_URL: optionalUrl,
  VK_API_RPS: z.coerce.number().int().min(1).max(100).default(20),
  // Apple Wallet: the certificate values are PEM text or a path to a PEM file.
  WALLET_PASS_TYPE_ID: z.preprocess(emptyToUndefined, z.string().regex(/^pass\.[A-Za-z0-9.-]+$/, 'looks like pass.com.example.loyalty').optional()),
  WALLET_TEAM_ID: z.preprocess(emptyToUndefined, z.string().regex(/^[A-Z0-9]{10}$/, '10 of A-Z 0-9 (Apple team id)').optional()),
  WALLET_SIGNER_CERT: optionalString,
  WALLET_SIGNER_KEY: optionalString,
  WALLET_SIGNER_PASSPHRASE: optionalString,
  WALLET_WWDR_CERT: optionalString,
  WALLET_LINK_SECRET: z.preprocess(emptyToUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
  WALLET_ORGANIZATION_NAME: z.string().trim().min(1).max(64).default('Loyalty'),
  WALLET_POOL_SIZE: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(64).optional()),
  WALLET_PUSH_DEBOUNCE_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  WALLET_PUSH_RATE: z.coerce.number().int().min(1).max(100_000).default(200),
  APNS_KEY: optionalString,
  APNS_KEY_ID: z.preprocess(emptyToUndefined, z.string().regex(/^[A-Z0-9]{10}$/, '10 of A-Z 0-9 (key id of the .p8 key)').optional()),
  APNS_HOST: z.preprocess(emptyToUndefined, z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).default('https://api.push.apple.com')),
  APNS_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(100),
  // Twitch stream giveaways (channel points): the app of dev.twitch.tv/console; the broadcaster connects with `npm run twitch:connect`.
  TWITCH_CLIENT_ID: z.preprocess(emptyToUndefined, z.string().regex(/^[a-z0-9]{10,64}$/, 'the Client ID of the app at dev.twitch.tv/console (lowercase letters and digits)').optional()),
  TWITCH_CLIENT_SECRET: optionalString,
  TWITCH_CHANNEL: z.preprocess(emptyToUndefined, z.string().regex(/^[A-Za-z0-9_]{1,25}$/, 'the broadcaster login or numeric user id').optional()),
  TWITCH_AUTH_BASE_URL: z.preprocess(emptyToUndefined, z.url().default('https://id.twitch.tv/oauth2')),
  TWITCH_POLL_MS: z.coerce.number().int().min(200).max(600_000).default(5000),
  // Reports count days and months in the shop's time zone (an IANA name).
  SHOP_TIMEZONE: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Moscow').default('Europe/Moscow'),
  IMPORT_MAX_BYTES: z.coerce.number().int().min(1024).max(2 ** 31).default(100 * 1024 * 1024),
  // Broadcasts: Telegram messages/s and VK calls/s for all workers together; how long a silent
  // worker's jobs wait before another takes them over; the longest a waiting job sleeps; how long
  // a delivery stays `sending` under a job BullMQ gave up on before the tick settles it.
  BROADCAST_TELEGRAM_RATE: z.coerce.number().int().min(1).max(1000).default(25),
  BROADCAST_VK_RATE: z.coerce.number().int().min(1).max(100).default(20),
  BROADCAST_STALL_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  BROADCAST_RECHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  BROADCAST_STUCK_MS: z.coerce.number().int().min(10_000).max(86_400_000).default(300_000),
  // The staff web panel (/admin): sessions end after this much idleness, and this long after sign-in at most.
  PANEL_SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(30),
  PANEL_SESSION_MAX_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(12),
  // Secure cookies: auto = when PUBLIC_URL is https or the request came over https (X-Forwarded-Proto behind a proxy with trust).
  PANEL_COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
});

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
export type Env = z.infer<typeof envSchema>;

export type ServerSource = { kind: 'external'; url: string } | { kind: 'embedded' };
export type TelegramConfig =
  | { enabled: false; reason: string }
  | { enabled: true; token: string; apiRoot: string | undefined; mode: { kind: 'polling' } | { kind: 'webhook'; url: string; secret: string } };
/** Bots Long Poll by default; the Callback API (POST /vk/callback of the api role) when its secret and code are set. */
export type VkConfig =
  | { enabled: false; reason: string }
  | {
      enabled: true;
      token: string;
      groupId: number;
      /** Base URL of the VK API without `/method` (another server, a fake in tests); unset: vk-io's default. */
      apiBaseUrl: string | undefined;
      /** API requests per second (VK allows a community token 20). */
      rps: number;
      mode: { kind: 'longpoll' } | { kind: 'callback'; secret: string; confirmation: string };
    };
/** Channel-points giveaways on Twitch: on with a client id; the broadcaster's token is stored by `npm run twitch:connect`. */
export type TwitchConfig =
  | { enabled: false; reason: string }
  | {
      enabled: true;
      clientId: string;
      /** Unset for a public client (device code flow needs none). */
      clientSecret: string | undefined;
      /** Broadcaster login or user id; unset: the one connected account. */
      channel: string | undefined;
      /** id.twitch.tv/oauth2, or a fake in tests (the device and token endpoints of twitch:connect). */
      authBaseUrl: string;
      pollMs: number;
    };

/** Pass signing material as configured: each value is PEM text or a path to a PEM file. */
export interface WalletCredentials {
  passTypeId: string;
  teamId: string;
  signerCert: string;
  signerKey: string;
  signerKeyPassphrase: string | undefined;
  wwdrCert: string;
}
export interface ApnsConfig {
  /** Base URL: https://api.push.apple.com, https://api.sandbox.push.apple.com, or a fake in tests. */
  host: string;
  /** The .p8 key (PEM text or path), its key id and the team id it belongs to. */
  key: string;
  keyId: string;
  teamId: string;
  concurrency: number;
}
export interface WalletConfig {
  /** null: no certificates configured (the embedded start may use DATA_DIR/wallet-dev). */
  credentials: WalletCredentials | null;
  /** null: pushes are off (passes still update when the holder pulls to refresh). */
  apns: ApnsConfig | null;
  /**
   * APNS_HOST when given explicitly (a local APNs on a laptop): with the dev certificates and
   * no APNS_KEY, the embedded start pushes there with the dev key. Never Apple's own host.
   */
  devApnsHost: string | undefined;
  apnsConcurrency: number;
  /** HMAC secret of distribution links; unset: generated into DATA_DIR like the admin token. */
  linkSecret: string | undefined;
  organizationName: string;
  /** Signing threads; unset: one less than the CPUs, at least one. */
  poolSize: number | undefined;
  debounceMs: number;
  /** Passes per second refreshed and pushed by bulk changes (offers to many, re-skins). */
  pushRate: number;
}

export interface Config {
  env: Env['NODE_ENV'];
  role: Role;
  http: { host: string; port: number; publicUrl: string };
  adminToken: string | undefined;
  logLevel: Env['LOG_LEVEL'];
  dataDir: string;
  mongo: ServerSource & { db: string; connectTimeoutMs: number; ferretdbBin: string | undefined };
  redis: ServerSource;
  queuePrefix: string;
  shutdownTimeoutMs: number;
  /** How long a till operation may wait for its card before answering card_busy (nothing moved). */
  ledgerBudgetMs: number;
  /** How often the recovery sweep folds forward cards left behind their entries. */
  ledgerSweepEveryMs: number;
  /** PHONE_HASH_SECRET; unset: generated once into DATA_DIR/phone-hash-secret (like the admin token). */
  phoneHashSecret: string | undefined;
  telegram: TelegramConfig;
  vk: VkConfig;
  wallet: WalletConfig;
  twitch: TwitchConfig;
  /** Import, segments and reports: the shop's time zone, the largest import file accepted. */
  insight: { timeZone: string; importMaxBytes: number };
  /** Broadcast delivery: rates (all workers together), stall takeover, the longest wait in a job. */
  broadcasts: { telegramRate: number; vkRate: number; stallMs: number; recheckMs: number; stuckMs: number };
  /** The web panel: session expiry and whether its cookies are Secure. */
  panel: PanelConfig;
}

export interface PanelConfig {
  idleMs: number;
  maxMs: number;
  /** 'auto': Secure when PUBLIC_URL is https or the request came over https. */
  secureCookie: 'auto' | boolean;
}

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function telegramFrom(env: Env, problems: { variable: string; message: string }[]): TelegramConfig {
  if (!env.TELEGRAM_BOT_TOKEN) return { enabled: false, reason: 'no TELEGRAM_BOT_TOKEN' };
  if (env.TELEGRAM_WEBHOOK_URL) {
    if (!env.TELEGRAM_WEBHOOK_SECRET) {
      problems.push({ variable: 'TELEGRAM_WEBHOOK_SECRET', message: 'required when TELEGRAM_WEBHOOK_URL is set' });
      return { enabled: false, reason: 'invalid webhook configuration' };
    }
    return {
      enabled: true,
      token: env.TELEGRAM_BOT_TOKEN,
      apiRoot: env.TELEGRAM_API_ROOT,
      mode: { kind: 'webhook', url: env.TELEGRAM_WEBHOOK_URL, secret: env.TELEGRAM_WEBHOOK_SECRET },
    };
  }
  return { enabled: true, token: env.TELEGRAM_BOT_TOKEN, apiRoot: env.TELEGRAM_API_ROOT, mode: { kind: 'polling' } };
}

function vkFrom(env: Env, problems: { variable: string; message: string }[]): VkConfig {
  const callbackVars = (['VK_CALLBACK_SECRET', 'VK_CONFIRMATION_CODE'] as const).filter((v) => env[v] !== undefined);
  if (!env.VK_GROUP_TOKEN) return { enabled: false, reason: 'no VK_GROUP_TOKEN' };
  if (env.VK_GROUP_ID === undefined) {
    problems.push({ variable: 'VK_GROUP_ID', message: 'required with VK_GROUP_TOKEN' });
    return { enabled: false, reason: 'invalid VK configuration' };
  }
  // The secret and the confirmation code come as a pair: one alone is a half-done Callback API set-up.
  if (callbackVars.length === 1) {
    const missing = callbackVars[0] === 'VK_CALLBACK_SECRET' ? 'VK_CONFIRMATION_CODE' : 'VK_CALLBACK_SECRET';
    problems.push({ variable: missing, message: `required with ${callbackVars[0] ?? ''} (Callback API mode)` });
    return { enabled: false, reason: 'invalid VK configuration' };
  }
  const base = {
    enabled: true as const,
    token: env.VK_GROUP_TOKEN,
    groupId: env.VK_GROUP_ID,
    // `https://api.vk.ru` and `https://api.vk.ru/method` both mean the same server.
    apiBaseUrl: env.VK_API_BASE_URL?.replace(/\/+$/, '').replace(/\/method$/, ''),
    rps: env.VK_API_RPS,
  };
  if (env.VK_CALLBACK_SECRET && env.VK_CONFIRMATION_CODE) {
    return { ...base, mode: { kind: 'callback', secret: env.VK_CALLBACK_SECRET, confirmation: env.VK_CONFIRMATION_CODE } };
  }
  return { ...base, mode: { kind: 'longpoll' } };
}

function twitchFrom(env: Env): TwitchConfig {
  if (!env.TWITCH_CLIENT_ID) return { enabled: false, reason: 'no TWITCH_CLIENT_ID' };
  return {
    enabled: true,
    clientId: env.TWITCH_CLIENT_ID,
    clientSecret: env.TWITCH_CLIENT_SECRET,
    channel: env.TWITCH_CHANNEL,
    authBaseUrl: env.TWITCH_AUTH_BASE_URL.replace(/\/+$/, ''),
    pollMs: env.TWITCH_POLL_MS,
  };
}

const WALLET_SIGNER_VARS = ['WALLET_PASS_TYPE_ID', 'WALLET_TEAM_ID', 'WALLET_SIGNER_CERT', 'WALLET_SIGNER_KEY', 'WALLET_WWDR_CERT'] as const;

/** Certificates come as a set: one of them alone is a mistake, not a half-configured wallet. */
function walletFrom(env: Env, problems: { variable: string; message: string }[], source: Record<string, string | undefined>): WalletConfig {
  const given = WALLET_SIGNER_VARS.filter((v) => env[v] !== undefined);
  let credentials: WalletCredentials | null = null;
  if (given.length > 0) {
    for (const v of WALLET_SIGNER_VARS) {
      if (env[v] === undefined) problems.push({ variable: v, message: `required with ${given.join(', ')}` });
    }
    if (env.WALLET_PASS_TYPE_ID && env.WALLET_TEAM_ID && env.WALLET_SIGNER_CERT && env.WALLET_SIGNER_KEY && env.WALLET_WWDR_CERT) {
      credentials = {
        passTypeId: env.WALLET_PASS_TYPE_ID,
        teamId: env.WALLET_TEAM_ID,
        signerCert: env.WALLET_SIGNER_CERT,
        signerKey: env.WALLET_SIGNER_KEY,
        signerKeyPassphrase: env.WALLET_SIGNER_PASSPHRASE,
        wwdrCert: env.WALLET_WWDR_CERT,
      };
    }
  }
  let apns: ApnsConfig | null = null;
  if (env.APNS_KEY) {
    if (!env.APNS_KEY_ID) problems.push({ variable: 'APNS_KEY_ID', message: 'required with APNS_KEY' });
    if (!credentials) problems.push({ variable: 'APNS_KEY', message: 'pushes need the pass certificates (WALLET_SIGNER_CERT …): the topic is the pass type id' });
    if (env.APNS_KEY_ID && env.WALLET_TEAM_ID) {
      apns = { host: env.APNS_HOST.replace(/\/+$/, ''), key: env.APNS_KEY, keyId: env.APNS_KEY_ID, teamId: env.WALLET_TEAM_ID, concurrency: env.APNS_CONCURRENCY };
    }
  }
  // Several api processes must agree on the link secret, so production cannot generate one per process.
  if (env.NODE_ENV === 'production' && credentials && !env.WALLET_LINK_SECRET) {
    problems.push({ variable: 'WALLET_LINK_SECRET', message: 'required in production when the wallet is configured' });
  }
  const explicitHost = source.APNS_HOST?.trim() ? env.APNS_HOST.replace(/\/+$/, '') : undefined;
  return {
    credentials,
    apns,
    devApnsHost: explicitHost && !/\.push\.apple\.com$/i.test(new URL(explicitHost).hostname) ? explicitHost : undefined,
    apnsConcurrency: env.APNS_CONCURRENCY,
    linkSecret: env.WALLET_LINK_SECRET,
    organizationName: env.WALLET_ORGANIZATION_NAME,
    poolSize: env.WALLET_POOL_SIZE,
    debounceMs: env.WALLET_PUSH_DEBOUNCE_MS,
    pushRate: env.WALLET_PUSH_RATE,
  };
}

/** Parses the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })),
    );
  }
  const env = parsed.data;
  const problems: { variable: string; message: string }[] = [];
  const telegram = telegramFrom(env, problems);
  const vk = vkFrom(env, problems);
  const wallet = walletFrom(env, problems, source);
  const twitch = twitchFrom(env);
  if (env.NODE_ENV === 'production' && !env.ADMIN_TOKEN) {
    problems.push({ variable: 'ADMIN_TOKEN', message: 'required in production' });
  }
  // Every process must hash phones alike, and separate containers share no DATA_DIR.
  if (env.NODE_ENV === 'production' && !env.PHONE_HASH_SECRET) {
    problems.push({ variable: 'PHONE_HASH_SECRET', message: 'required in production' });
  }
  // The sweep is for jobs BullMQ gave up on: it waits until BullMQ's own recovery (a stall check or two) has had its turn.
  if (env.BROADCAST_STUCK_MS < 2 * env.BROADCAST_STALL_MS) {
    problems.push({ variable: 'BROADCAST_STUCK_MS', message: `at least twice BROADCAST_STALL_MS (${env.BROADCAST_STALL_MS})` });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const publicUrl = (env.PUBLIC_URL ?? `http://${env.HOST}:${env.PORT}`).replace(/\/+$/, '');
  return {
    env: env.NODE_ENV,
    role: env.ROLE,
    http: { host: env.HOST, port: env.PORT, publicUrl },
    adminToken: env.ADMIN_TOKEN,
    logLevel: env.LOG_LEVEL,
    dataDir: env.DATA_DIR,
    mongo: {
      ...(env.MONGODB_URL ? { kind: 'external', url: env.MONGODB_URL } : { kind: 'embedded' }),
      db: env.MONGODB_DB,
      connectTimeoutMs: env.MONGODB_CONNECT_TIMEOUT_MS,
      ferretdbBin: env.FERRETDB_BIN,
    },
    redis: env.REDIS_URL ? { kind: 'external', url: env.REDIS_URL } : { kind: 'embedded' },
    queuePrefix: env.QUEUE_PREFIX,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    ledgerBudgetMs: env.LEDGER_BUDGET_MS,
    ledgerSweepEveryMs: env.LEDGER_SWEEP_EVERY_MS,
    phoneHashSecret: env.PHONE_HASH_SECRET,
    telegram,
    vk,
    wallet,
    twitch,
    insight: { timeZone: env.SHOP_TIMEZONE, importMaxBytes: env.IMPORT_MAX_BYTES },
    broadcasts: { telegramRate: env.BROADCAST_TELEGRAM_RATE, vkRate: env.BROADCAST_VK_RATE, stallMs: env.BROADCAST_STALL_MS, recheckMs: env.BROADCAST_RECHECK_MS, stuckMs: env.BROADCAST_STUCK_MS },
    panel: {
      idleMs: env.PANEL_SESSION_IDLE_MINUTES * 60_000,
      maxMs: env.PANEL_SESSION_MAX_HOURS * 3_600_000,
      secureCookie: env.PANEL_COOKIE_SECURE === 'auto' ? 'auto' : env.PANEL_COOKIE_SECURE === 'true',
    },
  };
}
