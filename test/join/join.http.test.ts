import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { memberModels } from '../../core/members/member.model.js';
import { createLogger } from '../../infra/logger.js';
import { testRedis } from '../helpers/env.js';
import type { Redis } from '../../infra/redis.js';
import { readZip } from '../wallet/zip.js';
import { PUBLIC_URL, startWalletFixture, type WalletFixture } from '../wallet/wallet.fixture.js';

/**
 * /join over HTTP, on the real app (join routes, till and admin API, pass download) with the
 * wallet's signing pool, FerretDB and Redis: the form, a join with a referral code, the pass it
 * links to verified with openssl, bonuses once per phone, the unproved-phone policy, the rate
 * limits and the form's anti-forgery token.
 */
const run = promisify(execFile);
let f: WalletFixture;
let app: FastifyInstance;
let redis: Redis;
let dir: string;
let storeKey: string;
let storeId: string;
let ipSeq = 1;
let phoneSeq = 100;
const newPhone = (): string => `+7996${String(phoneSeq++).padStart(7, '0')}`;
const newIp = (): string => `10.9.${Math.floor(ipSeq / 250)}.${(ipSeq++ % 250) + 1}`;

beforeAll(async () => {
  f = await startWalletFixture();
  redis = await testRedis();
  app = await buildApp({
    logger: createLogger('silent'),
    health: { checks: {} },
    core: f.core,
    wallet: f.wallet,
    adminToken: f.adminToken,
    redis,
    lookupRateLimit: { max: 10_000, timeWindowMs: 60_000, nameSpace: `join-test-${Date.now()}:` },
    publicRateLimit: { max: 10_000, timeWindowMs: 60_000 },
    joinPage: { publicUrl: PUBLIC_URL, links: { telegramBot: 'shop_loyalty_bot' }, limits: { perAddress: { max: 6, windowMs: 3_600_000 }, perPhone: { max: 3, windowMs: 3_600_000 } } },
  });
  dir = mkdtempSync(join(tmpdir(), 'join-'));
  const s = await app.inject({ method: 'POST', url: '/api/v1/admin/stores', headers: { authorization: `Bearer ${f.adminToken}` }, payload: { name: 'Магазин на Садовой', cardPrefix: 'SD' } });
  expect(s.statusCode).toBe(201);
  storeKey = s.json<{ key: string }>().key;
  storeId = s.json<{ id: string }>().id;
});
afterAll(async () => {
  await app.close();
  redis.disconnect();
  await f.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Form {
  token: string;
  cookie: string;
  consentVersion: string;
  html: string;
}

async function openForm(query = '', opts: { lang?: string; ip?: string } = {}): Promise<Form> {
  const r = await app.inject({ method: 'GET', url: `/join${query}`, remoteAddress: opts.ip ?? '10.0.0.1', headers: { 'accept-language': opts.lang ?? 'ru-RU,ru;q=0.9,en;q=0.8' } });
  expect(r.statusCode).toBe(200);
  expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
  const setCookie = String(r.headers['set-cookie']);
  expect(setCookie).toMatch(/^join_nonce=[\w-]+; Path=\/join; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/);
  return {
    token: /name="token" value="([^"]+)"/.exec(r.body)![1]!,
    cookie: setCookie.split(';')[0]!,
    consentVersion: /name="consentVersion" value="([^"]+)"/.exec(r.body)![1]!,
    html: r.body,
  };
}

function post(form: Form, fields: Record<string, string>, opts: { ip?: string; headers?: Record<string, string>; cookie?: string | null } = {}): Promise<LightMyRequestResponse> {
  const body = new URLSearchParams({ token: form.token, consentVersion: form.consentVersion, consent: 'yes', ...fields });
  const cookie = opts.cookie === undefined ? form.cookie : opts.cookie;
  return app.inject({
    method: 'POST',
    url: '/join',
    remoteAddress: opts.ip ?? newIp(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...opts.headers },
    payload: body.toString(),
  });
}

const cardOf = (html: string): string | null => /data-card="(\w+)"/.exec(html)?.[1] ?? null;
const countMembers = () => memberModels(f.conn).Members.countDocuments({});
const till = (body: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/v1/members', headers: { authorization: `Bearer ${storeKey}` }, payload: body });
const balance = async (card: string) => (await app.inject({ method: 'GET', url: `/api/v1/cards/${card}`, headers: { authorization: `Bearer ${storeKey}` } })).json<{ balance: number }>().balance;

async function opensslVerifies(signature: Buffer, manifest: Buffer): Promise<boolean> {
  const sig = join(dir, `sig-${Math.random()}`);
  const man = join(dir, `man-${Math.random()}`);
  writeFileSync(sig, signature);
  writeFileSync(man, manifest);
  try {
    await run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', man, '-CAfile', f.certs.files.caCert, '-out', '/dev/null']);
    return true;
  } catch {
    return false;
  }
}

describe('GET /join', () => {
  it('speaks the browser language, switches by ?lang, names the store, and offers the referral bonus only for a real code', async () => {
    const en = await openForm('', { lang: 'en-GB,en;q=0.9' });
    expect(en.html).toContain('<html lang="en">');
    expect(en.html).toContain('Welcome bonus: 1,000 points.');
    expect(en.html).toContain(`Consent text version: ${en.consentVersion}.`);
    expect(en.html).not.toContain('A friend invited you');
    const ru = await openForm('?lang=ru', { lang: 'en' });
    expect(ru.html).toContain('<html lang="ru">');
    expect(ru.html).toContain('Приветственный бонус: 1\u00a0000 баллов.');

    const referrer = await f.core.admin.enrol({ phone: newPhone(), name: 'Олег', consent: true }, 'admin');
    const code = (await f.core.members.byId(referrer.memberId))!.referralCode;
    const withRef = await openForm(`?ref=${code}&store=${storeId}`);
    expect(withRef.html).toContain('Карта магазина «Магазин на Садовой»');
    expect(withRef.html).toMatch(/Вас пригласил друг: .*3\u00a0000 баллов/);
    expect(withRef.html).toContain(`name="ref" value="${code}"`);
    expect(withRef.html).toContain(`href="/join?ref=${code}&amp;store=${storeId}&amp;lang=en"`);
    expect((await openForm('?ref=nosuchcode1')).html).not.toContain('Вас пригласил друг');
  });
});

describe('POST /join', () => {
  it('a referral join: a card of the store, its QR, a pass that verifies; bonuses wait for the proof, then come once per phone', async () => {
    const referrer = await f.core.admin.enrol({ phone: newPhone(), name: 'Олег', consent: true }, 'admin');
    const code = (await f.core.members.byId(referrer.memberId))!.referralCode;
    const referrerBefore = await balance(referrer.cardNumber);
    const phone = newPhone();
    const form = await openForm(`?ref=${code}&store=${storeId}`);
    const r = await post(form, { phone, name: 'Мария <b>', marketing: 'yes', ref: code, store: storeId, lang: 'ru' });
    expect(r.statusCode).toBe(201);
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    const card = cardOf(r.body)!;
    expect(card).toMatch(/^SD\d+$/);
    expect(r.body).toContain('<svg');
    expect(r.body).toContain('href="https://t.me/shop_loyalty_bot"');
    expect(r.body).toMatch(/4\u00a0000 баллов будут начислены, когда вы подтвердите номер/);

    const member = await memberModels(f.conn).Members.findOne({ cardNumber: card }).lean();
    expect(member).toMatchObject({ phone, name: 'Мария <b>', joinedVia: 'web', storeId, referrerId: referrer.memberId, optIn: { wallet: true } });
    expect(member?.consent).toMatchObject({ version: form.consentVersion, channel: 'web', by: 'member' });
    expect(await f.core.members.phoneState(member!)).toBe('unproved');
    // Typed, not proved: nothing is credited, to the visitor or the referrer.
    expect(await balance(card)).toBe(0);
    expect(await balance(referrer.cardNumber)).toBe(referrerBefore);

    // "Add to Apple Wallet": the signed link downloads a pass that verifies against the CA.
    const link = /href="(https:\/\/loyalty\.example\/wallet\/[^"]+\.pkpass)"/.exec(r.body)![1]!;
    const pass = await app.inject({ method: 'GET', url: new URL(link).pathname });
    expect(pass.statusCode).toBe(200);
    expect(pass.headers['content-type']).toBe('application/vnd.apple.pkpass');
    const files = readZip(pass.rawPayload);
    expect(JSON.parse(files['pass.json']!.toString()).serialNumber).toBe(card);
    expect(await opensslVerifies(files.signature!, files['manifest.json']!)).toBe(true);
    const manifest = JSON.parse(files['manifest.json']!.toString()) as Record<string, string>;
    expect(manifest['pass.json']).toBe(createHash('sha1').update(files['pass.json']!).digest('hex'));

    // The number is proved at the till with this card: welcome and referral bonuses, once.
    const proof = await till({ phone, name: 'Мария', consent: true, cardNumber: card });
    expect(proof.statusCode).toBe(200);
    expect(await balance(card)).toBe(1000 + 3000);
    expect(await balance(referrer.cardNumber)).toBe(referrerBefore + 3000);
    expect((await till({ phone, name: 'Мария', consent: true, cardNumber: card })).statusCode).toBe(200);
    expect(await balance(card)).toBe(4000);

    // The same number on the page again: no new card, and no bonus.
    const before = await countMembers();
    const again = await post(await openForm(), { phone, name: 'Мария' });
    expect(again.statusCode).toBe(200);
    expect(cardOf(again.body)).toBeNull();
    expect(again.body).toContain('Этот номер уже участвует в программе');
    expect(await countMembers()).toBe(before);

    // Erased and joined again on the page with the same number: a card, but no second welcome bonus.
    await f.core.admin.eraseMember({ cardNumber: card });
    const back = await post(await openForm(), { phone, name: 'Мария' });
    expect(back.statusCode).toBe(201);
    const card2 = cardOf(back.body)!;
    expect((await till({ phone, name: 'Мария', consent: true, cardNumber: card2 })).statusCode).toBe(200);
    expect(await balance(card2)).toBe(0);
  });

  it('a number typed by someone else, or proved by its owner, shows no card and reveals nothing of its holder', async () => {
    const owner = await f.core.admin.enrol({ phone: newPhone(), name: 'Владелец', consent: true }, 'admin');
    const typed = newPhone();
    const first = await post(await openForm(), { phone: typed, name: 'Первый' });
    expect(first.statusCode).toBe(201);
    const before = await countMembers();
    for (const phone of [typed, (await f.core.members.byId(owner.memberId))!.phone]) {
      const r = await post(await openForm(), { phone, name: 'Чужой' });
      expect(r.statusCode).toBe(200);
      expect(cardOf(r.body)).toBeNull();
      expect(r.body).not.toContain('Владелец');
      expect(r.body).not.toContain('Первый');
      expect(r.body).not.toContain(owner.cardNumber);
    }
    expect(await countMembers()).toBe(before);
  });

  it('limits attempts per phone and per address (Redis), answering 429 and changing nothing', async () => {
    const phone = '+79965550000';
    const ipA = newIp();
    // Three attempts with this number (each refused: no consent); the fourth is refused by the limit.
    for (let i = 0; i < 3; i++) expect((await post(await openForm(), { phone, name: 'X', consent: '' }, { ip: newIp() })).statusCode).toBe(422);
    const limited = await post(await openForm(), { phone, name: 'X' }, { ip: ipA });
    expect(limited.statusCode).toBe(429);
    expect(limited.body).toContain('Слишком много попыток');
    expect(await memberModels(f.conn).Members.countDocuments({ phone })).toBe(0);
    const keys = await redis.keys('*join-phone*');
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toContain('79965550000');

    const ip = newIp();
    for (let i = 0; i < 6; i++) expect((await post(await openForm(), { phone: 'nonsense', name: 'X' }, { ip })).statusCode).toBe(400);
    const byAddress = await post(await openForm(), { phone: newPhone(), name: 'X' }, { ip });
    expect(byAddress.statusCode).toBe(429);
  });

  it('refuses a post without the page token and cookie, with a forged or foreign one, or from another site', async () => {
    const before = await countMembers();
    const form = await openForm();
    const other = await openForm();
    const cases: [string, Promise<LightMyRequestResponse>][] = [
      ['no cookie', post(form, { phone: newPhone(), name: 'X' }, { cookie: null })],
      ["another form's cookie", post(form, { phone: newPhone(), name: 'X' }, { cookie: other.cookie })],
      ['forged token', post({ ...form, token: `${form.token.slice(0, -2)}xx` }, { phone: newPhone(), name: 'X' })],
      ['foreign origin', post(form, { phone: newPhone(), name: 'X' }, { headers: { origin: 'https://evil.example' } })],
      ['cross-site fetch', post(form, { phone: newPhone(), name: 'X' }, { headers: { 'sec-fetch-site': 'cross-site' } })],
    ];
    for (const [what, res] of cases) {
      const r = await res;
      expect(r.statusCode, what).toBe(403);
      expect(r.body, what).toContain('Страница устарела');
    }
    expect(await countMembers()).toBe(before);
    // The same origin is fine.
    expect((await post(form, { phone: newPhone(), name: 'X' }, { headers: { origin: PUBLIC_URL } })).statusCode).toBe(201);
  });
});
