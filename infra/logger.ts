import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Phone numbers and bot tokens inside free text (messages, URLs) are masked too. */
const PHONE_RE = /\+?\d[\d\s()-]{8,}\d(\d{2})\b/g;
const BOT_TOKEN_RE = /\b(bot)?\d{5,}:[\w-]{20,}/g;

export function redactText(text: string): string {
  return text.replace(BOT_TOKEN_RE, '[redacted-token]').replace(PHONE_RE, (_m, last2: string) => `***${last2}`);
}

/** Structured fields that must never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-telegram-bot-api-secret-token"]',
  'headers.authorization',
  'phone',
  'token',
  'key',
  'secret',
  'password',
  'authenticationToken',
  '*.phone',
  '*.token',
  '*.key',
  '*.apiKey',
  '*.secret',
  '*.password',
  '*.adminToken',
  '*.authenticationToken',
];

export function createLogger(level: LoggerOptions['level'] = 'info', destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((a: unknown) => (typeof a === 'string' ? redactText(a) : a)) as Parameters<typeof method>,
        );
      },
    },
    serializers: {
      req: (req: { id?: string; method?: string; url?: string }) => ({ id: req.id, method: req.method, url: redactText(req.url ?? '') }),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
