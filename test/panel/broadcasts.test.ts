import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeTelegram } from '../fakes/telegram.fake.js';
import { startBroadcastDelivery } from './panel.broadcast-env.js';
import { client, startPanelApp, type PanelApp } from './panel.fixture.js';

let p: PanelApp;
let tg: FakeTelegram;
let delivery: Awaited<ReturnType<typeof startBroadcastDelivery>>;
let segmentId = '';

beforeAll(async () => {
  p = await startPanelApp({ realClock: true });
  delivery = await startBroadcastDelivery(p, { telegram: 3, vk: 2 });
  tg = delivery.tg;
  segmentId = delivery.segmentId;
}, 60_000);

afterAll(async () => {
  await delivery.close();
  await p.close();
});

const compose = (over: Record<string, string> = {}) => ({ text: 'Скидка 10% в субботу', channels: 'telegram', audience: 'segment', segmentId, holdoutPercent: '0', ignoreQuietHours: 'on', ...over });

describe('the broadcasts pages', () => {
  it('a marketer composes a broadcast to a segment, sees the live count and preview, sends it and follows it to done', async () => {
    const { email } = await p.user('marketer');
    const c = client(p.app);
    await c.login(email);
    const list = await c.get('/admin/broadcasts');
    expect(list.statusCode).toBe(200);
    expect((await c.get('/admin/broadcasts/new')).statusCode).toBe(200);

    const preview = await c.post('/admin/broadcasts/preview', compose(), { 'hx-request': 'true' });
    expect(preview.statusCode).toBe(200);
    expect(preview.body).toMatch(/id="recipients-telegram">3</);
    expect(preview.body).toContain('Скидка 10% в субботу');

    const before = await p.core.broadcasts.list({ kind: 'campaign' });
    const bad = await c.post('/admin/broadcasts', compose({ text: '', channels: '' }));
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/id="f-text-err"/);
    expect(bad.body).toContain('Выберите хотя бы один канал.');
    expect((await p.core.broadcasts.list({ kind: 'campaign' })).items.length).toBe(before.items.length);

    const sent = await c.post('/admin/broadcasts', compose());
    expect(sent.statusCode).toBe(303);
    const url = String(sent.headers.location);
    const id = url.split('/').pop() ?? '';
    const deadline = Date.now() + 30_000;
    let page = await c.get(url);
    while (!page.body.includes('class="badge done"') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      page = await c.get(url, { 'hx-request': 'true' });
    }
    expect(page.body).toContain('class="badge done"');
    expect(page.body).toMatch(/id="sent-telegram">3</);
    const full = await c.get(url);
    expect(full.body).toContain('id="broadcast-report"');
    expect(tg.sent().filter((m) => (m.text ?? '').includes('Скидка 10%')).length).toBe(3);
    const audit = await p.core.audit.page({ action: 'broadcast.create' });
    expect(audit.items.some((a) => a.target === id)).toBe(true);
  }, 60_000);

  it('pauses and cancels from the page; a canceled one cannot be resumed', async () => {
    const { email } = await p.user('owner');
    const c = client(p.app);
    await c.login(email);
    const future = new Date(Date.now() + 86_400_000);
    const local = `${future.toISOString().slice(0, 10)}T12:00`;
    await c.get('/admin/broadcasts/new');
    const r = await c.post('/admin/broadcasts', compose({ scheduledAt: local }));
    expect(r.statusCode).toBe(303);
    const url = String(r.headers.location);
    await c.get(url);
    expect((await c.post(`${url}/pause`)).statusCode).toBe(303);
    expect((await c.get(url)).body).toContain('class="badge paused"');
    expect((await c.post(`${url}/cancel`)).statusCode).toBe(303);
    const page = await c.get(url);
    expect(page.body).toContain('class="badge canceled"');
    const again = await c.post(`${url}/resume`);
    expect(again.statusCode).toBe(409);
    expect((await c.get(url)).body).toContain('class="badge canceled"');
  }, 60_000);

  it('refuses a support user the broadcasts pages', async () => {
    const { email } = await p.user('support');
    const c = client(p.app);
    await c.login(email);
    expect((await c.get('/admin/broadcasts')).statusCode).toBe(403);
    expect((await c.get('/admin/broadcasts/new')).statusCode).toBe(403);
    const post = await c.post('/admin/broadcasts', compose());
    expect(post.statusCode).toBe(403);
  });
});
