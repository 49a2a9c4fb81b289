import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi } from '../helpers/api.js';
import { newMember } from '../helpers/core.js';
import { contestApp, contestTest, type ContestTest } from './contest.fixture.js';

const root = resolve(import.meta.dirname, '../..');

/** `npm run contest:verify -- <arg>` as a child process. */
function verify(arg: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/contest-verify.ts', arg],
      { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: stdout + stderr }),
    );
  });
}

describe('contests over HTTP, and the verifier', () => {
  let t: ContestTest;
  let app: FastifyInstance;
  let base: string;
  const token = randomBytes(24).toString('base64url');
  const admin = (method: 'GET' | 'POST', url: string, body?: unknown) =>
    app.inject({ method, url: `/api/v1/admin${url}`, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { payload: body as object } : {}) });
  const closesAt = () => new Date(t.clock.now().getTime() + 86_400_000).toISOString();

  beforeAll(async () => {
    t = await contestTest();
    app = await contestApp(t, token);
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await t.close();
  });

  async function drawnContest(entries: number, prizes = 2): Promise<{ id: string; cards: string[] }> {
    const res = await admin('POST', '/contests', { title: 'Розыгрыш', prizes, channels: ['telegram', 'vk'], closesAt: closesAt() });
    expect(res.statusCode).toBe(201);
    const { id } = res.json();
    const cards: string[] = [];
    for (let i = 0; i < entries; i++) {
      const { account, card } = await t.entrant();
      cards.push(card);
      await t.contests.enter({ contestId: id, channel: 'telegram', account, cardInput: card });
    }
    // Drawn once its published closing time has passed.
    t.clock.advance(86_400_000);
    expect((await admin('POST', `/contests/${id}/draw`)).statusCode).toBe(200);
    return { id, cards };
  }

  it('admin routes need the admin token; the public record does not', async () => {
    const created = await admin('POST', '/contests', { title: 'A', prizes: 1, channels: ['vk'], closesAt: closesAt() });
    const { id } = created.json();
    expect((await app.inject({ method: 'POST', url: '/api/v1/admin/contests', payload: { title: 'A', prizes: 1, channels: ['vk'], closesAt: closesAt() } })).statusCode).toBe(401);
    const wrong = await app.inject({ method: 'GET', url: `/api/v1/admin/contests/${id}`, headers: { authorization: 'Bearer nope-nope-nope' } });
    expect({ status: wrong.statusCode, code: wrong.json().error.code }).toEqual({ status: 401, code: 'unauthorized' });
    expect((await app.inject({ method: 'GET', url: `/api/v1/contests/${id}` })).statusCode).toBe(200);
    const missing = await app.inject({ method: 'GET', url: '/api/v1/contests/nope' });
    expect({ status: missing.statusCode, code: missing.json().error.code }).toEqual({ status: 404, code: 'contest_not_found' });
  });

  it('creates with 201 {id, commitment} and refuses bad input with 400', async () => {
    const res = await admin('POST', '/contests', {
      title: 'Сертификат',
      description: 'Для владельцев карт',
      prizes: 3,
      channels: ['telegram', 'twitch'],
      closesAt: closesAt(),
      minLevel: 'silver',
      joinedBefore: '2026-02-01T00:00:00+03:00',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: expect.any(String), commitment: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const view = (await admin('GET', `/contests/${res.json().id}`)).json();
    expect(view).toMatchObject({ status: 'open', minLevel: 'silver', joinedBefore: '2026-01-31T21:00:00.000Z', entries: 0, seed: null, channels: ['telegram', 'twitch'] });
    for (const body of [
      { title: 'X', prizes: '3', channels: ['vk'], closesAt: closesAt() },
      { title: 'X', prizes: 1, channels: ['ok'], closesAt: closesAt() },
      { title: 'X', prizes: 1, channels: ['vk'], closesAt: 'tomorrow' },
      { title: 'X', prizes: 1, channels: ['vk'], closesAt: closesAt(), seed: 'mine' },
      { title: 'X', prizes: 1, channels: ['vk'], closesAt: closesAt(), minLevel: 'diamond' },
    ]) {
      const bad = await admin('POST', '/contests', body);
      expect({ status: bad.statusCode, code: bad.json().error.code }, JSON.stringify(body)).toEqual({ status: 400, code: 'validation_failed' });
    }
  });

  it('shows the live count, hides seed and winners until the draw, then publishes them', async () => {
    const { id } = (await admin('POST', '/contests', { title: 'Live', prizes: 1, channels: ['telegram'], closesAt: closesAt() })).json();
    const { account, card } = await t.entrant();
    await t.contests.enter({ contestId: id, channel: 'telegram', account, cardInput: card });
    expect((await admin('GET', `/contests/${id}`)).json().entries).toBe(1);
    const before = await app.inject({ method: 'GET', url: `/api/v1/contests/${id}` });
    expect(before.json()).toMatchObject({ status: 'open', seed: null, winners: null, entriesDigest: null });
    const entries = (await app.inject({ method: 'GET', url: `/api/v1/contests/${id}/entries` })).json();
    expect(entries).toMatchObject({ sealed: false, entries: [{ id: expect.any(String), masked: expect.stringContaining('•') }] });
    expect(JSON.stringify(entries)).not.toContain(card);

    // Not before the closing time published at creation: no draw, and no close without a published reason.
    expect((await admin('POST', `/contests/${id}/draw`)).json().error.code).toBe('contest_still_open');
    expect((await admin('POST', `/contests/${id}/close`)).json()).toMatchObject({ error: { code: 'validation_failed', details: { reason: 'early_close_reason' } } });
    expect((await admin('POST', `/contests/${id}/close`, { reason: 'Магазин закрывается' })).json()).toMatchObject({ status: 'closed', entryCount: 1, seed: null, closeReason: 'Магазин закрывается' });
    expect((await app.inject({ method: 'GET', url: `/api/v1/contests/${id}` })).json().closeReason).toBe('Магазин закрывается');
    const drawn = (await admin('POST', `/contests/${id}/draw`)).json();
    expect(drawn.winners).toEqual([expect.objectContaining({ place: 1, card, channel: 'telegram', memberId: expect.any(String) })]);
    const after = (await app.inject({ method: 'GET', url: `/api/v1/contests/${id}` })).json();
    expect(after).toMatchObject({ status: 'drawn', seed: drawn.contest.seed, winners: [{ place: 1, entryId: drawn.winners[0].entryId, masked: drawn.winners[0].masked }] });
    expect(JSON.stringify(after)).not.toContain(card);
  });

  it('exports the entries as CSV', async () => {
    const { id, cards } = await drawnContest(3, 1);
    const res = await admin('GET', `/contests/${id}/entries.csv`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="contest-${id}-entries.csv"`);
    const lines = res.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('entry_id,masked,card,channel,account,member_id,entered_at,in_draw,place');
    expect(lines).toHaveLength(4);
    for (const card of cards) expect(res.body).toContain(`,${card},telegram,telegram:`);
    expect(lines.filter((l) => l.endsWith(',true,1'))).toHaveLength(1);
    expect(lines.filter((l) => l.endsWith(',true,'))).toHaveLength(2);
    expect((await app.inject({ method: 'GET', url: `/api/v1/admin/contests/${id}/entries.csv` })).statusCode).toBe(401);
  });

  it('the verifier agrees with the published winners, by URL, by id and from a file; disagrees when an entry is altered', async () => {
    const { id } = await drawnContest(7, 3);
    const byUrl = await verify(`${base}/api/v1/contests/${id}`);
    expect(byUrl.out).toContain('AGREE');
    expect(byUrl.code).toBe(0);
    const byId = await verify(id, { PUBLIC_URL: base });
    expect(byId.code, byId.out).toBe(0);

    const dir = mkdtempSync(join(tmpdir(), 'contest-verify-'));
    const record = (await app.inject({ method: 'GET', url: `/api/v1/contests/${id}` })).json();
    const { entries } = (await app.inject({ method: 'GET', url: `/api/v1/contests/${id}/entries` })).json();
    const file = (name: string, value: unknown): string => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify(value));
      return path;
    };
    expect((await verify(file('ok.json', { ...record, entries }))).code).toBe(0);

    // One digit of one masked number changed.
    const flip = (m: string): string => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0');
    const altered = entries.map((e: { id: string; masked: string }, i: number) => (i === 3 ? { ...e, masked: flip(e.masked) } : e));
    const bad = await verify(file('altered.json', { ...record, entries: altered }));
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FAIL entries digest[\s\S]*DISAGREE/);
    const dropped = await verify(file('dropped.json', { ...record, entries: entries.slice(1) }));
    expect(dropped.code).toBe(1);
    const otherWinners = await verify(file('winners.json', { ...record, winners: record.winners.map((w: object, i: number) => ({ ...w, place: record.winners.length - i })), entries }));
    expect(otherWinners.out).toContain('FAIL winners');
    expect(otherWinners.code).toBe(1);

    const { id: open } = (await admin('POST', '/contests', { title: 'Open', prizes: 1, channels: ['vk'], closesAt: closesAt() })).json();
    const notYet = await verify(`${base}/api/v1/contests/${open}`);
    expect(notYet.code).toBe(1);
    expect(notYet.out).toContain('only after the draw');
  }, 60_000);

  it('the verifier shows an early close and its published reason', async () => {
    const { id } = (await admin('POST', '/contests', { title: 'Early', prizes: 1, channels: ['telegram'], closesAt: closesAt() })).json();
    const { account, card } = await t.entrant();
    await t.contests.enter({ contestId: id, channel: 'telegram', account, cardInput: card });
    await admin('POST', `/contests/${id}/close`, { reason: 'Приз сняли с продажи' });
    await admin('POST', `/contests/${id}/draw`);
    const r = await verify(`${base}/api/v1/contests/${id}`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/ok {3}closing time: closed early at .* reason given: Приз сняли с продажи/);
  }, 60_000);
});

describe('the public entry list over the app', () => {
  it('is paged by cursor and rate-limited per client address', async () => {
    const t = await startTestApi({ publicRateLimit: { max: 4, timeWindowMs: 60_000 } });
    try {
      const { id } = await t.core.contests.create({ title: 'Paged', prizes: 1, channels: ['telegram'], closesAt: new Date(Date.now() + 86_400_000) });
      for (let i = 0; i < 5; i++) {
        const { member, card } = await newMember(t.core);
        await t.core.members.linkIdentity(String(member._id), `telegram:${7_100 + i}`);
        await t.core.contests.enter({ contestId: id, channel: 'telegram', account: `telegram:${7_100 + i}`, cardInput: card._id });
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 3; page++) {
        const url = `/api/v1/contests/${id}/entries?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await t.app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(200);
        const body = JSON.parse(res.body) as { entries: { id: string }[]; nextCursor: string | null };
        expect(body.entries.length).toBe(page < 2 ? 2 : 1);
        seen.push(...body.entries.map((e) => e.id));
        cursor = body.nextCursor;
      }
      expect(cursor).toBeNull();
      expect(seen).toEqual([...seen].sort());
      expect(new Set(seen).size).toBe(5);
      expect((await t.app.inject({ method: 'GET', url: `/api/v1/contests/${id}/entries?limit=5000` })).statusCode).toBe(400);
      // Four requests a minute from one address (the refused one counted too, before it was read); the next is refused.
      const limited = await t.app.inject({ method: 'GET', url: `/api/v1/contests/${id}/entries` });
      expect(limited.statusCode).toBe(429);
      expect(limited.json().error.code).toBe('rate_limited');
      expect((await t.app.inject({ method: 'GET', url: `/api/v1/contests/${id}`, remoteAddress: '10.0.0.9' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
