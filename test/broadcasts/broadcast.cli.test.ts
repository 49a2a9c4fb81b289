import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../infra/child.process.js';
import { TEST_PHONE_SECRET } from '../helpers/env.js';
import { broadcastEnv, member, type BroadcastEnv } from './broadcast.fixture.js';

const root = resolve(import.meta.dirname, '../..');
let env: BroadcastEnv;

beforeAll(async () => {
  env = await broadcastEnv();
  await env.startWorkers();
}, 60_000);
afterAll(async () => {
  await env.close();
});

function admin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return freePort().then(
    (port) =>
      new Promise((done, fail) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', ...args], {
          cwd: root,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '',
            LOG_LEVEL: 'warn',
            DATA_DIR: mkdtempSync(join(tmpdir(), 'loyalty-cli-')),
            MONGODB_URL: inject('mongoUrl'),
            MONGODB_DB: env.t.conn.name,
            PHONE_HASH_SECRET: TEST_PHONE_SECRET,
            HOST: '127.0.0.1',
            PORT: String(port),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          fail(new Error(`admin ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
        }, 60_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          done({ code, stdout, stderr });
        });
      }),
  );
}

describe('npm run admin -- broadcast:send', () => {
  it('creates a broadcast and shows its progress until it is done', async () => {
    const a = await member(env, { telegram: true });
    const card = (await env.t.core.members.byId(a.id))?.cardNumber ?? '';
    const r = await admin(['broadcast:send', 'Из терминала', '--cards', card, '--channels', 'telegram', '--urgent']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Broadcast [0-9a-f]{24} sending: 1 members \(telegram 1, vk 0, wallet 0\)\./);
    expect(r.stderr).toContain('telegram 1/1 · done');
    expect(env.tg.sent(a.tg ?? 0).map((m) => m.text)).toEqual(['Из терминала']);
  }, 90_000);

  it('refuses a malformed command line with the usage', async () => {
    const r = await admin(['broadcast:send', 'x', '--channels', 'sms']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('broadcast:send');
  });
});
