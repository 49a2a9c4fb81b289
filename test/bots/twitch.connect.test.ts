import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTwitch, TwitchConnectError } from '../../bots/twitch/twitch.connect.js';
import { loadConfig } from '../../core/config.js';
import { createTwitchTokenRepository, type TwitchTokenRepository } from '../../core/twitch/twitch-token.repository.js';
import type { Connection } from '../../infra/mongo.js';
import { startFakeHelix, type FakeHelix } from '../fakes/helix.fake.js';
import { serverUrls, testMongo, uniqueName } from '../helpers/env.js';

const root = resolve(import.meta.dirname, '../..');
let fake: FakeHelix;
let conn: Connection;
let tokens: TwitchTokenRepository;

beforeAll(async () => {
  fake = await startFakeHelix();
  fake.addUser({ id: '90001', login: 'BakeryLive', displayName: 'BakeryLive' });
  conn = await testMongo();
  tokens = createTwitchTokenRepository(conn);
  await tokens.init();
});

afterAll(async () => {
  await conn.dropDatabase();
  await conn.close();
  await fake.close();
});

describe('twitch:connect (device code flow)', () => {
  it('prints the URL and code, polls until approved, stores the token', async () => {
    const printed: string[] = [];
    let sleeps = 0;
    const result = await connectTwitch({
      clientId: fake.clientId,
      authBaseUrl: fake.authBaseUrl,
      tokens,
      print: (l) => printed.push(l),
      sleep: async () => {
        sleeps += 1;
        // The broadcaster approves after two "authorization_pending" answers.
        if (sleeps === 3) {
          const code = /enter the code (\S+)/.exec(printed[0] ?? '')?.[1] ?? '';
          fake.approveDevice(code, '90001');
        }
      },
    });
    expect(printed[0]).toMatch(/^Open https:\/\/www\.twitch\.tv\/activate\S* logged in as the broadcaster and enter the code [0-9A-F]{8}$/);
    expect(fake.devicePolls).toBe(3);
    expect(result).toMatchObject({ userId: '90001', login: 'bakerylive' });
    const device = fake.calls.find((c) => c.route === 'device');
    expect(device?.query.scopes?.[0]).toBe('channel:read:redemptions channel:manage:redemptions');
    const stored = await tokens.find('bakerylive');
    expect(stored?.userId).toBe('90001');
    expect(stored?.scope).toEqual(['channel:read:redemptions', 'channel:manage:redemptions']);
    // The stored token works against the (fake) id.twitch.tv.
    const v = await fetch(`${fake.authBaseUrl}/validate`, { headers: { Authorization: `OAuth ${stored?.accessToken ?? ''}` } });
    expect(v.status).toBe(200);
    expect(await tokens.find()).not.toBeNull();
  });

  it('a wrong client id is refused with a clear message', async () => {
    await expect(connectTwitch({ clientId: 'wrongclient123', authBaseUrl: fake.authBaseUrl, tokens, print: () => undefined, sleep: async () => undefined })).rejects.toBeInstanceOf(TwitchConnectError);
  });

  it('npm run twitch:connect end to end: the script against the fake stores the token', async () => {
    const db = uniqueName('twc');
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/twitch-connect.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'twitch-connect-')),
        MONGODB_URL: serverUrls().mongoUrl,
        MONGODB_DB: db,
        TWITCH_CLIENT_ID: fake.clientId,
        TWITCH_AUTH_BASE_URL: fake.authBaseUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const code = /enter the code (\S+)/.exec(out)?.[1];
      if (code) fake.approveDevice(code, '90001');
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exit = await new Promise<number | null>((r) => child.once('exit', r));
    expect(exit, `stdout:\n${out}\nstderr:\n${err}`).toBe(0);
    expect(out).toContain('Connected Twitch channel bakerylive (id 90001)');
    const other = await testMongo(db);
    try {
      const stored = await createTwitchTokenRepository(other).find('90001');
      expect(stored?.login).toBe('bakerylive');
      expect(stored?.refreshToken).toMatch(/^[0-9a-f]+$/);
    } finally {
      await other.dropDatabase();
      await other.close();
    }
  }, 30_000);

  it('config: without TWITCH_CLIENT_ID Twitch is off and says why', () => {
    expect(loadConfig({}).twitch).toEqual({ enabled: false, reason: 'no TWITCH_CLIENT_ID' });
    const on = loadConfig({ TWITCH_CLIENT_ID: 'abcdef0123456789', TWITCH_CHANNEL: 'BakeryLive' }).twitch;
    expect(on).toMatchObject({ enabled: true, clientId: 'abcdef0123456789', channel: 'BakeryLive', authBaseUrl: 'https://id.twitch.tv/oauth2', pollMs: 5000 });
  });
});
