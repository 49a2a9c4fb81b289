import { GrammyError } from 'grammy';
import { describe, expect, it } from 'vitest';
import { redactText, redactUrl } from '../../infra/log-redact.js';
import { createLogger } from '../../infra/logger.js';

/** What a log line may say: phones masked in every usual Russian form, URLs without query values, errors without payloads. */

function captureLogger(level = 'debug') {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (l: string) => lines.push(l) });
  return { logger, lines, all: () => lines.join('\n') };
}

describe('log redaction', () => {
  it('masks Russian phone numbers as people type them, in text and URLs', () => {
    const forms = [
      '+79991234567',
      '79991234567',
      '89991234567',
      '8 999 123-45-67',
      '+7 (999) 123-45-67',
      '8(999)1234567',
      '9991234567',
      '%2B79991234567',
      '%2B7%20(999)%20123-45-67',
      '8+999+123+45+67',
    ];
    for (const form of forms) {
      const out = redactText(`phone ${form} given`);
      expect(out, form).not.toMatch(/\d{3}/);
      expect(out, form).toContain('***67');
    }
    // Short numbers, dates, addresses and ids stay readable.
    expect(redactText('card 4 of 12 on 2026-03-01T10:00:00Z from 127.0.0.1:3000')).toBe('card 4 of 12 on 2026-03-01T10:00:00Z from 127.0.0.1:3000');
    expect(redactText('bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0 said')).toBe('bot [redacted-token] said');
  });

  it('logs a URL by its path and query keys only, cut short', () => {
    expect(redactUrl('/api/v1/cards?phone=%2B79991234567&x=1')).toBe('/api/v1/cards?phone=…&x=…');
    expect(redactUrl('/api/v1/cards/89991234567/history')).toBe('/api/v1/cards/***67/history');
    expect(redactUrl(`/wallet/${'a'.repeat(48)}.pkpass`)).toBe('/wallet/[redacted]');
    const long = redactUrl(`/api/v1/cards?${'q=1&'.repeat(5000)}`);
    expect(long.length).toBeLessThan(600);
  });

  it('is linear: a megabyte of hostile input is redacted in well under a second', () => {
    const hostile = ['1 '.repeat(500_000), '1'.repeat(1_000_000), `${'9'.repeat(999_990)}:`, '+('.repeat(500_000), '%2'.repeat(333_333)];
    for (const text of hostile) {
      const started = performance.now();
      redactText(text);
      redactUrl(`/cards?phone=${text}`);
      // A quadratic scan of 10^6 characters takes minutes; a linear one milliseconds.
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });

  it('a failed Telegram call is logged without its payload: no text, no code, no name', () => {
    const { logger, all } = captureLogger();
    const err = new GrammyError(
      "Call to 'sendMessage' failed!",
      { ok: false, error_code: 400, description: 'Bad Request: chat not found' },
      'sendMessage',
      { chat_id: 42, text: 'Код подтверждения: 482913, Анна, +79991234567' },
    );
    logger.warn({ err }, 'notification not delivered to +7 999 123-45-67');
    const line = all();
    expect(line).toContain('Bad Request: chat not found');
    expect(line).toContain('sendMessage');
    for (const secret of ['482913', 'Анна', '79991234567', '123-45-67']) expect(line).not.toContain(secret);
  });

  it('the request serializer never writes query values', () => {
    const { logger, all } = captureLogger();
    logger.info({ req: { id: 'r1', method: 'GET', url: '/api/v1/cards?phone=8%20999%20123-45-67' } }, 'incoming request');
    expect(all()).toContain('/api/v1/cards?phone=…');
    expect(all()).not.toContain('45-67');
  });
});
