import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../infra/child.process.js';
import { runAdminCli, type CliResult } from '../helpers/cli.js';
import { TEST_PHONE_SECRET } from '../helpers/env.js';
import { broadcastEnv, member, type BroadcastEnv } from './broadcast.fixture.js';

let env: BroadcastEnv;

beforeAll(async () => {
  env = await broadcastEnv();
  await env.startWorkers();
}, 60_000);
afterAll(async () => {
  await env.close();
});

/** `npm run admin -- …` against this file's database, with its own HTTP port. */
async function admin(args: string[]): Promise<CliResult> {
  const port = await freePort();
  return runAdminCli(args, { MONGODB_URL: inject('mongoUrl'), MONGODB_DB: env.t.conn.name, PHONE_HASH_SECRET: TEST_PHONE_SECRET, HOST: '127.0.0.1', PORT: String(port) }, { timeoutMs: 60_000 });
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
