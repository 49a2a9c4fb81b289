import { pino, type Logger, type LoggerOptions } from 'pino';
import { redactText, redactUrl, safeError } from './log-redact.js';

export type { Logger };
export { redactText };

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
  'text',
  '*.phone',
  '*.token',
  '*.key',
  '*.apiKey',
  '*.secret',
  '*.password',
  '*.adminToken',
  '*.authenticationToken',
  '*.text',
];

/**
 * The one logger. What it never writes: credentials (the paths above), phone numbers and bot
 * tokens inside any message (masked by a linear scan, infra/log-redact.ts), request URLs
 * beyond their path and query keys, and what a failed call was sending (an error is logged by
 * its class, message and status only, so a failed Telegram send never logs its text).
 */
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
      req: (req: { id?: string; method?: string; url?: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url ?? '') }),
      err: (err: unknown) => safeError(err),
      error: (err: unknown) => safeError(err),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
