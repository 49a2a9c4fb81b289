import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api.js';
import { testPhone } from '../helpers/core.js';

/** The admin API of broadcasts on the whole app (no worker: what it answers and stores). */
let api: TestApi;
const json = (r: { body: string }) => JSON.parse(r.body) as Record<string, unknown>;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

const post = (url: string, body?: unknown, token: string | null = api.adminToken) => api.call('POST', `/api/v1/admin${url}`, { token, ...(body !== undefined ? { body } : {}) });

async function optedIn(channel: 'telegram' | 'vk'): Promise<{ id: string; card: string }> {
  const r = await api.core.members.enroll({ phone: testPhone(), name: 'Олег', consent: true, channel, identity: `${channel}:${Math.floor(Math.random() * 1e9)}` });
  await api.core.broadcasts.setMarketing(String(r.member._id), [channel, 'wallet'], true);
  return { id: String(r.member._id), card: r.card._id };
}

describe('admin API: broadcasts', () => {
  it('refuses bad input with 400 validation_failed and stores nothing', async () => {
    const before = json(await api.call('GET', '/api/v1/admin/broadcasts', { token: api.adminToken })).items as unknown[];
    const bad: unknown[] = [
      {},
      { text: '', audience: { kind: 'all' } },
      { text: 'x'.repeat(1001), audience: { kind: 'all' } },
      { text: 'hi', audience: { kind: 'everyone' } },
      { text: 'hi', audience: { kind: 'cards', numbers: [] } },
      { text: 'hi', audience: { kind: 'all' }, channels: ['sms'] },
      { text: 'hi', audience: { kind: 'all' }, channels: [] },
      { text: 'hi', audience: { kind: 'all' }, button: { text: 'Go', url: 'javascript:alert(1)' } },
      { text: 'hi', audience: { kind: 'all' }, scheduledAt: 'tomorrow' },
      { text: 'hi', audience: { kind: 'all' }, holdoutPercent: 80 },
      { text: 'hi', audience: { kind: 'all' }, extra: true },
      { text: 'hi', audience: { kind: 'level', levelId: 'nope' } },
    ];
    for (const body of bad) {
      const r = await post('/broadcasts', body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(json(r).error).toMatchObject({ code: 'validation_failed' });
    }
    const seg = await post('/broadcasts', { text: 'hi', audience: { kind: 'segment', segmentId: 'a'.repeat(24) } });
    expect(seg.statusCode).toBe(404);
    expect(json(seg).error).toMatchObject({ code: 'segment_not_found' });
    expect((await post('/broadcasts', { text: 'hi', audience: { kind: 'all' } }, null)).statusCode).toBe(401);
    expect((await post('/broadcasts', { text: 'hi', audience: { kind: 'all' } }, 'wrong-token-wrong-token-wrong')).statusCode).toBe(401);
    expect(json(await api.call('GET', '/api/v1/admin/broadcasts', { token: api.adminToken })).items).toEqual(before);
  });

  it('preview counts recipients per channel and renders the message per channel, changing nothing', async () => {
    const a = await optedIn('telegram');
    const b = await optedIn('vk');
    const r = await post('/broadcasts/preview', { text: 'Скидка <b>20%</b> & кофе', audience: { kind: 'cards', numbers: [a.card, b.card, '0000'] }, button: { text: 'Подробнее', url: 'https://shop.example/sale' } });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toEqual({
      recipients: { telegram: 1, vk: 1, wallet: 0, total: 2 },
      skipped: { telegram: 0, vk: 0, wallet: 0 },
      holdout: 0,
      messages: {
        telegram: { html: 'Скидка &lt;b&gt;20%&lt;/b&gt; &amp; кофе', buttons: ['Подробнее', '🔕 Отписаться от рассылки'] },
        vk: { text: 'Скидка <b>20%</b> & кофе', buttons: ['Подробнее', '🔕 Отписаться от рассылки'] },
        wallet: { offer: 'Скидка <b>20%</b> & кофе' },
      },
    });
    const en = json(await api.call('POST', '/api/v1/admin/broadcasts/preview?lang=en', { token: api.adminToken, body: { text: 'x', audience: { kind: 'all' } } }));
    expect((en.messages as { vk: { buttons: string[] } }).vk.buttons).toEqual(['🔕 Unsubscribe']);
  });

  it('create → 201 with recipients; get, list; pause, resume, cancel with 409 when the status does not allow it', async () => {
    const a = await optedIn('telegram');
    const created = await post('/broadcasts', { text: 'Акция', audience: { kind: 'cards', numbers: [a.card] }, channels: ['telegram'], scheduledAt: '2099-01-01T10:00:00Z' });
    expect(created.statusCode).toBe(201);
    const c = json(created) as { id: string; status: string; recipients: unknown };
    expect(c).toEqual({ id: expect.stringMatching(/^[0-9a-f]{24}$/) as unknown, status: 'scheduled', recipients: { telegram: 1, vk: 0, wallet: 0, total: 1 } });
    const got = json(await api.call('GET', `/api/v1/admin/broadcasts/${c.id}`, { token: api.adminToken }));
    expect(got).toMatchObject({
      id: c.id,
      status: 'scheduled',
      counts: { telegram: { queued: 0, sent: 0, failed: 0, blocked: 0, skipped: 0 }, vk: { queued: 0, sent: 0, failed: 0, blocked: 0, skipped: 0 }, wallet: { queued: 0, sent: 0, failed: 0, blocked: 0, skipped: 0 } },
      startedAt: null,
      finishedAt: null,
    });
    const list = json(await api.call('GET', '/api/v1/admin/broadcasts?limit=1', { token: api.adminToken })) as { items: { id: string }[]; next: string | null };
    expect(list.items.map((i) => i.id)).toEqual([c.id]);
    expect((await post(`/broadcasts/${c.id}/resume`)).statusCode).toBe(409);
    const paused = await post(`/broadcasts/${c.id}/pause`);
    expect(paused.statusCode).toBe(200);
    expect(json(paused).status).toBe('paused');
    expect(json(await post(`/broadcasts/${c.id}/resume`)).status).toBe('scheduled');
    const canceled = await post(`/broadcasts/${c.id}/cancel`);
    expect(json(canceled).status).toBe('canceled');
    const again = await post(`/broadcasts/${c.id}/cancel`);
    expect(again.statusCode).toBe(409);
    expect(json(again).error).toMatchObject({ code: 'broadcast_state' });
    const missing = await api.call('GET', `/api/v1/admin/broadcasts/${'f'.repeat(24)}`, { token: api.adminToken });
    expect(missing.statusCode).toBe(404);
    expect(json(missing).error).toMatchObject({ code: 'broadcast_not_found' });
    expect((await api.call('GET', '/api/v1/admin/broadcasts/not-an-id', { token: api.adminToken })).statusCode).toBe(400);
  });

  it("test sends go to the admins' own chats only", async () => {
    const a = await optedIn('telegram');
    const admin = await api.core.members.enroll({ phone: testPhone(), name: 'Админ', consent: true, channel: 'telegram', identity: 'telegram:777000111' });
    await api.core.members.update(String(admin.member._id), { roles: ['admin'] });
    const c = json(await post('/broadcasts', { text: 'Проверка', audience: { kind: 'cards', numbers: [a.card] }, scheduledAt: '2099-01-01T10:00:00Z' })) as { id: string };
    const t = await post(`/broadcasts/${c.id}/test`);
    expect(t.statusCode).toBe(201);
    // The admin has not opted in to marketing: a test send still reaches their own chat.
    expect(json(t)).toMatchObject({ status: 'sending', recipients: { telegram: 1, vk: 0, total: 1 } });
    expect(json(await api.call('GET', `/api/v1/admin/broadcasts?kind=test`, { token: api.adminToken })).items).toHaveLength(1);
  });
});
