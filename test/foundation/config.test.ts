import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';
import { runMain } from '../helpers/process.js';

describe('config', () => {
  it('gives safe defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.http).toEqual({ host: '127.0.0.1', port: 3000, publicUrl: 'http://127.0.0.1:3000' });
    expect(c.mongo.kind).toBe('embedded');
    expect(c.redis.kind).toBe('embedded');
    expect(c.role).toBe('all');
    expect(c.telegram).toEqual({ enabled: false, reason: 'no TELEGRAM_BOT_TOKEN' });
  });

  it('treats empty strings as unset and takes external servers from URLs', () => {
    const c = loadConfig({ MONGODB_URL: 'mongodb://db:27017/x', REDIS_URL: 'redis://r:6379', ADMIN_TOKEN: '' });
    expect(c.mongo).toMatchObject({ kind: 'external', url: 'mongodb://db:27017/x' });
    expect(c.redis).toEqual({ kind: 'external', url: 'redis://r:6379' });
    expect(c.adminToken).toBeUndefined();
  });

  it('names every bad variable at once', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', MONGODB_URL: 'postgres://x', LOG_LEVEL: 'loud', ROLE: 'cook', ADMIN_TOKEN: 'short' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const vars = (err as ConfigError).problems.map((p) => p.variable).sort();
    expect(vars).toEqual(['ADMIN_TOKEN', 'LOG_LEVEL', 'MONGODB_URL', 'PORT', 'ROLE']);
  });

  it('requires a webhook secret with a webhook URL, and an admin token in production', () => {
    expect(() =>
      loadConfig({ TELEGRAM_BOT_TOKEN: '123456:' + 'A'.repeat(30), TELEGRAM_WEBHOOK_URL: 'https://x.example/tg', NODE_ENV: 'production' }),
    ).toThrow(/TELEGRAM_WEBHOOK_SECRET[\s\S]*ADMIN_TOKEN/);
    const c = loadConfig({ TELEGRAM_BOT_TOKEN: '123456:' + 'A'.repeat(30) });
    expect(c.telegram).toMatchObject({ enabled: true, mode: { kind: 'polling' } });
  });

  it('settles stuck broadcast deliveries after 5 minutes by default, never sooner than two stall checks', () => {
    expect(loadConfig({}).broadcasts).toMatchObject({ stallMs: 30_000, stuckMs: 300_000 });
    expect(loadConfig({ BROADCAST_STALL_MS: '60000', BROADCAST_STUCK_MS: '120000' }).broadcasts.stuckMs).toBe(120_000);
    expect(() => loadConfig({ BROADCAST_STALL_MS: '600000' })).toThrow(/BROADCAST_STUCK_MS/);
  });

  it('requires the phone hash secret in production (every process must hash alike), at least 32 characters', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(24) })).toThrow(/PHONE_HASH_SECRET: required in production/);
    expect(() => loadConfig({ PHONE_HASH_SECRET: 'short' })).toThrow(/PHONE_HASH_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(24), PHONE_HASH_SECRET: 'p'.repeat(32) }).phoneHashSecret).toBe('p'.repeat(32));
    expect(loadConfig({}).phoneHashSecret).toBeUndefined();
  });

  it('the start command exits 1 naming every bad variable, before anything connects', async () => {
    const r = await runMain({ PORT: '-1', REDIS_URL: 'http://nope', MONGODB_URL: 'mongodb://127.0.0.1:1/x' }, { until: 'exit', timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PORT/);
    expect(r.stderr).toMatch(/REDIS_URL/);
    expect(r.stderr).not.toMatch(/Cannot reach/);
  });
});
