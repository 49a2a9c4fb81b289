import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../core/core.js';
import { freePort } from '../../infra/child.process.js';
import type { Connection } from '../../infra/mongo.js';
import { runAdminCli as admin } from '../helpers/cli.js';
import { startTestApi, type TestApi } from '../helpers/api.js';
import { serverUrls, TEST_PHONE_SECRET, testMongo, uniqueName } from '../helpers/env.js';

const keyIn = (stdout: string): string => {
  const key = /^\s+(sk_[\w-]+)$/m.exec(stdout)?.[1];
  if (!key) throw new Error(`no key printed:\n${stdout}`);
  return key;
};

describe('admin CLI', () => {
  it('prints its usage and exits 2 on a bad command line, before connecting anywhere', async () => {
    const r = await admin(['store:create'], { MONGODB_URL: 'mongodb://127.0.0.1:1/x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/store:create "<name>"/);
    expect((await admin(['nonsense'], {})).code).toBe(2);
  }, 30_000);

  describe('without a running server: straight to the database', () => {
    const db = uniqueName('cli');
    let conn: Connection;
    let core: Core;
    let env: Record<string, string>;
    beforeAll(async () => {
      const { mongoUrl, redisUrl } = serverUrls();
      // A port nothing listens on: no server answers, so the CLI connects itself.
      env = { MONGODB_URL: mongoUrl, MONGODB_DB: db, REDIS_URL: redisUrl, HOST: '127.0.0.1', PORT: String(await freePort()) };
      conn = await testMongo(db);
      core = createCore({ conn, phoneHashSecret: TEST_PHONE_SECRET });
    });
    afterAll(async () => {
      await conn.close();
    });

    it('store:create prints a working key once; store:list shows the store without it; member:create enrols', async () => {
      const created = await admin(['store:create', 'Corner shop', 'cs'], env);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toMatch(/using MONGODB_URL directly/);
      const key = keyIn(created.stdout);
      const store = await core.stores.findByKey(key);
      expect(store).toMatchObject({ name: 'Corner shop', cardPrefix: 'CS' });

      const list = await admin(['store:list'], env);
      expect(list.code).toBe(0);
      expect(list.stdout).toContain(store!.id);
      expect(list.stdout).toContain('Corner shop');
      expect(list.stdout).toContain(`${key.slice(0, 7)}…`);
      expect(list.stdout).not.toContain(key);

      // A key rotated from the command line: the old one stops now; then every key revoked.
      const rotated = await admin(['store:rotate-key', store!.id], env);
      expect(rotated.code, rotated.stderr).toBe(0);
      const key2 = keyIn(rotated.stdout);
      expect(rotated.stdout).toMatch(/earlier keys stopped working now/);
      expect(await core.stores.findByKey(key)).toBeNull();
      expect((await core.stores.findByKey(key2))?.id).toBe(store!.id);
      const revoked = await admin(['store:revoke-keys', store!.id], env);
      expect(revoked.stdout).toMatch(/Revoked 1 key/);
      expect(await core.stores.findByKey(key2)).toBeNull();

      const member = await admin(['member:create', '+79261234567', 'Ivan', 'Petrov'], env);
      expect(member.code, member.stderr).toBe(0);
      expect(member.stdout).toMatch(/Member created .*card 70\d{12}, balance 1000 points/);
      const found = await core.members.findByPhone('+79261234567');
      expect(found?.name).toBe('Ivan Petrov');
      const again = await admin(['member:create', '89261234567', 'Ivan'], env);
      expect(again.stdout).toMatch(/Already a member/);

      const bad = await admin(['member:create', '123', 'Nobody'], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/phone_invalid/);

      // A member who asked in person to delete their data (no chat to press the button in).
      const erased = await admin(['member:erase', '8 926 123-45-67'], env);
      expect(erased.code, erased.stderr).toBe(0);
      expect(erased.stdout).toMatch(/erased; card 70\d{12} is blocked/);
      expect(await core.members.findByPhone('+79261234567')).toBeNull();
      expect(await core.members.byId(found!._id.toString())).toMatchObject({ status: 'erased', name: '—' });
      expect((await admin(['member:erase', 'card', found!.cardNumber!], env)).code).toBe(0);
      expect((await admin(['member:erase', '+79260000000'], env)).stderr).toMatch(/member_not_found/);
    }, 90_000);
  });

  describe('with a running server: through its admin API', () => {
    let t: TestApi;
    let env: Record<string, string>;
    beforeAll(async () => {
      t = await startTestApi();
      const url = new URL(await t.app.listen({ host: '127.0.0.1', port: 0 }));
      // An unreachable database proves the work went through HTTP.
      env = { HOST: '127.0.0.1', PORT: url.port, ADMIN_TOKEN: t.adminToken, MONGODB_URL: 'mongodb://127.0.0.1:1/unused', REDIS_URL: 'redis://127.0.0.1:1' };
    });
    afterAll(async () => {
      await t.close();
    });

    it('creates and lists stores and enrols members over HTTP with the admin token', async () => {
      const created = await admin(['store:create', 'Via HTTP'], env);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toMatch(/using the admin API at http:\/\/127\.0\.0\.1:/);
      const key = keyIn(created.stdout);
      expect((await t.core.stores.findByKey(key))?.name).toBe('Via HTTP');

      const list = await admin(['store:list'], env);
      expect(list.stdout).toContain('Via HTTP');
      expect(list.stdout).not.toContain(key);
      const member = await admin(['member:create', '+79031112233', 'Olga'], env);
      expect(member.stdout).toMatch(/Member created/);

      const wrong = await admin(['store:list'], { ...env, ADMIN_TOKEN: 'x'.repeat(32) });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/unauthorized/);
    }, 60_000);
  });
});
