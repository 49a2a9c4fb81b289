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
  TELEGRAM_BOT_TOKEN: z.preprocess(emptyToUndefined, z.string().regex(/^\d+:[\w-]{20,}$/, 'looks like 123456:ABC… from @BotFather').optional()),
  TELEGRAM_API_ROOT: optionalUrl,
  TELEGRAM_WEBHOOK_URL: optionalUrl,
  TELEGRAM_WEBHOOK_SECRET: z.preprocess(emptyToUndefined, z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, '16–256 of A-Z a-z 0-9 _ -').optional()),
});
export type Env = z.infer<typeof envSchema>;

export type ServerSource = { kind: 'external'; url: string } | { kind: 'embedded' };
export type TelegramConfig =
  | { enabled: false; reason: string }
  | { enabled: true; token: string; apiRoot: string | undefined; mode: { kind: 'polling' } | { kind: 'webhook'; url: string; secret: string } };

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
  telegram: TelegramConfig;
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
  if (env.NODE_ENV === 'production' && !env.ADMIN_TOKEN) {
    problems.push({ variable: 'ADMIN_TOKEN', message: 'required in production' });
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
    telegram,
  };
}
