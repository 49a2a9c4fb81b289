import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../core/core.js';
import { freePort } from '../../infra/child.process.js';
import type { Connection } from '../../infra/mongo.js';
import { runAdminCli } from '../helpers/cli.js';
import { serverUrls, TEST_PHONE_SECRET, testMongo, uniqueName } from '../helpers/env.js';

const admin = (args: string[], env: Record<string, string>, stdin?: string) => runAdminCli(args, env, stdin === undefined ? {} : { stdin });

describe('npm run admin -- user:create', () => {
  const db = uniqueName('clipanel');
  let conn: Connection;
  let core: Core;
  let env: Record<string, string>;
  beforeAll(async () => {
    const { mongoUrl, redisUrl } = serverUrls();
    env = { MONGODB_URL: mongoUrl, MONGODB_DB: db, REDIS_URL: redisUrl, HOST: '127.0.0.1', PORT: String(await freePort()), PHONE_HASH_SECRET: TEST_PHONE_SECRET };
    conn = await testMongo(db);
    core = createCore({ conn, phoneHashSecret: TEST_PHONE_SECRET, guardedCardWrites: false });
    await core.init();
  });
  afterAll(async () => {
    core.close();
    await conn.dropDatabase();
    await conn.close();
  });

  it('creates the first owner with the password from PANEL_USER_PASSWORD, who can then sign in', async () => {
    const r = await admin(['user:create', 'Boss@Shop.test', 'owner'], { ...env, PANEL_USER_PASSWORD: 'a long enough secret' });
    expect(r.stderr + r.stdout).toContain('User boss@shop.test created');
    expect(r.code).toBe(0);
    expect((await core.users.authenticate('boss@shop.test', 'a long enough secret'))?.role).toBe('owner');
    expect((await core.audit.page({ action: 'user.create' })).items[0]?.actor).toBe('admin-cli');
  }, 60_000);

  it('reads the password from standard input, and refuses a cashier without a store', async () => {
    const r = await admin(['user:create', 'desk@shop.test', 'support'], env, 'piped password 123\n');
    expect(r.code).toBe(0);
    expect(await core.users.authenticate('desk@shop.test', 'piped password 123')).not.toBeNull();
    const bad = await admin(['user:create', 'till@shop.test', 'cashier'], { ...env, PANEL_USER_PASSWORD: 'a long enough secret' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('store_required');
    const store = await core.admin.createStore('Main');
    const ok = await admin(['user:create', 'till@shop.test', 'cashier', '--store', store.id], { ...env, PANEL_USER_PASSWORD: 'a long enough secret' });
    expect(ok.code).toBe(0);
    expect((await core.users.authenticate('till@shop.test', 'a long enough secret'))?.storeId).toBe(store.id);
  }, 90_000);
});
