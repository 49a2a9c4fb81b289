import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, PASSWORD, startPanelApp, type PanelApp } from './panel.fixture.js';
import { newMember } from '../helpers/core.js';

let t: PanelApp;
beforeAll(async () => {
  t = await startPanelApp();
});
afterAll(async () => {
  await t.close();
});

describe('panel sign-in', () => {
  it('signs an owner in with a session cookie that is HttpOnly and SameSite=Strict, and lands on the dashboard', async () => {
    const owner = await t.user('owner');
    const c = client(t.app);
    const res = await c.login(owner.email);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin');
    const cookie = res.cookies.find((k) => k.name === 'lb_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    expect(cookie?.secure).toBeFalsy();
    // The token is never stored: the session's id is its hash.
    const stored = await t.core.sessions.resume(cookie?.value ?? '');
    expect(stored?.user.email).toBe(owner.email);
    expect(stored?.id).not.toBe(cookie?.value);
  });

  it('marks the cookie Secure behind https (X-Forwarded-Proto is not trusted; PANEL_COOKIE_SECURE=true is)', async () => {
    const s = await startPanelApp({ panel: { secureCookie: true } });
    try {
      const owner = await s.user('owner');
      const res = await client(s.app).login(owner.email);
      expect(res.cookies.find((k) => k.name === 'lb_session')?.secure).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('refuses a wrong password with a message next to the field, and counts it', async () => {
    const owner = await t.user('owner');
    const c = client(t.app);
    const res = await c.login(owner.email, 'wrong password!');
    expect(res.statusCode).toBe(401);
    expect(res.body).toMatch(/id="f-password-err"[^>]*>Неверный e-mail или пароль/);
    expect(res.cookies.find((k) => k.name === 'lb_session')).toBeUndefined();
  });

  it('throttles sign-in per e-mail: after 5 failures even the right password is refused', async () => {
    const owner = await t.user('owner');
    const c = client(t.app);
    for (let i = 0; i < 5; i += 1) expect((await c.login(owner.email, `wrong-${i}-password`)).statusCode).toBe(401);
    const res = await c.login(owner.email, PASSWORD);
    expect(res.statusCode).toBe(429);
    expect(res.body).toContain('Слишком много попыток входа');
    // Another e-mail from the same address still gets in (the per-address budget is larger).
    const other = await t.user('owner');
    expect((await client(t.app).login(other.email)).statusCode).toBe(303);
    const audit = await t.core.audit.page({ action: 'login.throttled' });
    expect(audit.items.some((e) => e.target === owner.email)).toBe(true);
  });

  it('throttles per address: many e-mails tried from one address', async () => {
    const c = client(t.app, { remoteAddress: '10.9.8.7' });
    for (let i = 0; i < 30; i += 1) await c.login(`nobody${i}@shop.test`, 'whatever-wrong');
    const owner = await t.user('owner');
    expect((await c.login(owner.email)).statusCode).toBe(429);
    expect((await client(t.app, { remoteAddress: '10.9.8.8' }).login(owner.email)).statusCode).toBe(303);
  });

  it('refuses a sign-in form without its CSRF token', async () => {
    const owner = await t.user('owner');
    const c = client(t.app);
    await c.get('/admin/login');
    const res = await c.post('/admin/login', { email: owner.email, password: PASSWORD, _csrf: 'forged' });
    expect(res.statusCode).toBe(403);
    expect(res.cookies.find((k) => k.name === 'lb_session')).toBeUndefined();
  });

  it('ends a session after the idle time and after the absolute time', async () => {
    const owner = await t.user('owner');
    const c = client(t.app);
    await c.login(owner.email);
    expect((await c.get('/admin/members')).statusCode).toBe(200);
    t.clock.advance(31 * 60_000);
    const idle = await c.get('/admin/members');
    expect(idle.statusCode).toBe(303);
    expect(idle.headers.location).toBe('/admin/login?next=%2Fadmin%2Fmembers');

    await c.login(owner.email);
    for (let i = 0; i < 25; i += 1) {
      t.clock.advance(29 * 60_000);
      if ((await c.get('/admin/account')).statusCode !== 200) break;
    }
    // Busy all along, but 12 hours after signing in the session is over.
    expect((await c.get('/admin/account')).statusCode).toBe(303);
  });

  it('signs out: the session is gone on the server', async () => {
    const owner = await t.user('owner');
    const c = client(t.app);
    await c.login(owner.email);
    const token = c.jar.get('lb_session') ?? '';
    await c.get('/admin/account');
    expect((await c.post('/admin/logout')).statusCode).toBe(303);
    expect(await t.core.sessions.resume(token)).toBeNull();
  });
});

describe('CSRF on changes', () => {
  it('refuses an adjustment without the token, or with another session’s token, and moves nothing', async () => {
    const support = await t.user('support');
    const { member, card } = await newMember(t.core);
    const c = client(t.app);
    await c.login(support.email);
    await c.get(`/admin/members/${String(member._id)}`);
    const form = { direction: 'add', points: '50', reason: 'goodwill', key: 'k1' };
    const none = await c.post(`/admin/members/${String(member._id)}/adjust`, { ...form, _csrf: null });
    expect(none.statusCode).toBe(403);
    expect(none.body).toContain('Форма устарела');

    const other = client(t.app);
    await other.login((await t.user('support')).email);
    await other.get('/admin/account');
    const foreign = await c.post(`/admin/members/${String(member._id)}/adjust`, { ...form, _csrf: other.csrf });
    expect(foreign.statusCode).toBe(403);
    expect((await t.core.cards.byNumber(card._id))?.balance).toBe(card.balance);

    const ok = await c.post(`/admin/members/${String(member._id)}/adjust`, form);
    expect(ok.statusCode).toBe(303);
    expect((await t.core.cards.byNumber(card._id))?.balance).toBe(card.balance + 50);
    // The same form sent again (a double click) moves nothing more.
    await c.post(`/admin/members/${String(member._id)}/adjust`, form);
    expect((await t.core.cards.byNumber(card._id))?.balance).toBe(card.balance + 50);
  });

  it('accepts the token in the X-CSRF-Token header (htmx)', async () => {
    const owner = await t.user('owner');
    const { member, card } = await newMember(t.core);
    const c = client(t.app);
    await c.login(owner.email);
    await c.get('/admin/account');
    const res = await c.post(`/admin/members/${String(member._id)}/block`, { _csrf: null }, { 'x-csrf-token': c.csrf });
    expect(res.statusCode).toBe(303);
    expect((await t.core.cards.byNumber(card._id))?.status).toBe('blocked');
  });
});

describe('roles', () => {
  it('refuses a support user the settings, keys and users pages, and the audit log records it', async () => {
    const support = await t.user('support');
    const c = client(t.app);
    await c.login(support.email);
    for (const url of ['/admin/settings', '/admin/stores', '/admin/users', '/admin/audit']) {
      const res = await c.get(url);
      expect(res.statusCode, url).toBe(403);
      expect(res.body).toContain('Нет доступа');
    }
    expect((await c.get('/admin/members')).statusCode).toBe(200);
    const refused = await t.core.audit.page({ action: 'access.refused' });
    expect(refused.items.filter((e) => e.actor === support.email).map((e) => e.target)).toContain('GET /admin/settings');
  });

  it('shows each role only its menu entries', async () => {
    const marketer = await t.user('marketer');
    const c = client(t.app);
    await c.login(marketer.email);
    const page = await c.get('/admin/members');
    expect(page.body).toContain('href="/admin/contests"');
    expect(page.body).not.toContain('href="/admin/users"');
    expect(page.body).not.toContain('href="/admin/stores"');
  });

  it('sends a cashier to its till and keeps it out of members', async () => {
    const cashier = await t.user('cashier');
    const c = client(t.app);
    const res = await c.login(cashier.email);
    expect(res.headers.location).toBe('/admin/till');
    expect((await c.get('/admin/members')).statusCode).toBe(403);
  });
});

describe('admin API: users', () => {
  it('creates the first owner with the admin token; validation errors change nothing', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/admin/users', headers: { authorization: `Bearer ${t.adminToken}` }, payload: { email: 'x@y.test', password: 'short', role: 'owner' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'weak_password' } });
    const cashierNoStore = await t.app.inject({ method: 'POST', url: '/api/v1/admin/users', headers: { authorization: `Bearer ${t.adminToken}` }, payload: { email: 'c@y.test', password: PASSWORD, role: 'cashier' } });
    expect(cashierNoStore.json()).toMatchObject({ error: { code: 'store_required' } });
    const ok = await t.app.inject({ method: 'POST', url: '/api/v1/admin/users', headers: { authorization: `Bearer ${t.adminToken}` }, payload: { email: 'First@Shop.test', password: PASSWORD, role: 'owner' } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ email: 'first@shop.test', role: 'owner', storeId: null });
    const dup = await t.app.inject({ method: 'POST', url: '/api/v1/admin/users', headers: { authorization: `Bearer ${t.adminToken}` }, payload: { email: 'first@shop.test', password: PASSWORD, role: 'owner' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ error: { code: 'user_exists' } });
  });

  it("accepts an owner's session with the CSRF header, refuses it without, and refuses other roles", async () => {
    const owner = await t.user('owner');
    const c = client(t.app);
    await c.login(owner.email);
    await c.get('/admin/account');
    const body = { email: 'via-session@shop.test', password: PASSWORD, role: 'marketer' };
    const noToken = await c.json('POST', '/api/v1/admin/users', body);
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json()).toMatchObject({ error: { code: 'csrf_failed' } });
    const ok = await c.json('POST', '/api/v1/admin/users', body, { 'x-csrf-token': c.csrf });
    expect(ok.statusCode).toBe(201);
    const audit = await t.core.audit.page({ action: 'user.create' });
    expect(audit.items.find((e) => e.target === 'via-session@shop.test')?.actor).toBe(owner.email);

    const m = client(t.app);
    await m.login('via-session@shop.test');
    await m.get('/admin/account');
    const refused = await m.json('POST', '/api/v1/admin/users', { ...body, email: 'x2@shop.test' }, { 'x-csrf-token': m.csrf });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('keeps the last owner: it cannot be demoted', async () => {
    const s = await startPanelApp();
    try {
      const owner = await s.user('owner');
      const res = await s.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${owner.id}`, headers: { authorization: `Bearer ${s.adminToken}` }, payload: { role: 'support' } });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ error: { code: 'last_owner' } });
      expect((await s.core.users.byId(owner.id))?.role).toBe('owner');
    } finally {
      await s.close();
    }
  });

  it('disabling a user ends their sessions', async () => {
    const owner = await t.user('owner');
    const support = await t.user('support');
    const c = client(t.app);
    await c.login(support.email);
    expect((await c.get('/admin/members')).statusCode).toBe(200);
    const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${support.id}`, headers: { authorization: `Bearer ${t.adminToken}` }, payload: { active: false } });
    expect(res.statusCode).toBe(200);
    expect((await c.get('/admin/members')).statusCode).toBe(303);
    expect((await client(t.app).login(support.email)).statusCode).toBe(401);
    expect(owner.email).toBeTruthy();
  });
});
