import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { createI18n } from '../../core/i18n/i18n.js';
import { createLogger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis.js';
import { testRedis, uniqueName } from '../helpers/env.js';
import { readZip } from '../wallet/zip.js';
import { startWalletFixture, type WalletFixture } from '../wallet/wallet.fixture.js';
import { PASSWORD } from '../panel/panel.fixture.js';

/**
 * In a real browser (playwright-core driving Debian's headless chromium): a customer joins on
 * /join with a referral code and gets a pass that downloads; a cashier records a receipt in the
 * web till with a double click, which accrues once. Screenshots go to docs/screenshots/.
 */
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '../../docs/screenshots');
let f: WalletFixture;
let app: FastifyInstance;
let redis: Redis;
let browser: Browser;
let base: string;

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
    lookupRateLimit: { max: 10_000, timeWindowMs: 60_000, nameSpace: `${uniqueName('rl')}:` },
    panel: { i18n: await createI18n(), config: { idleMs: 30 * 60_000, maxMs: 12 * 3_600_000, secureCookie: false }, redisPrefix: `${uniqueName('panel')}:` },
    joinPage: { links: { telegramBot: 'shop_loyalty_bot' } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright gives every launch a fresh, temporary profile (its own --user-data-dir).
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await app.close();
  redis.disconnect();
  await f.close();
});

describe('in the browser', () => {
  it('a customer joins on /join with a referral code and downloads the pass', async () => {
    const referrer = await f.core.admin.enrol({ phone: '+79994440001', name: 'Олег', consent: true }, 'admin');
    const code = (await f.core.members.byId(referrer.memberId))!.referralCode;
    const page = await browser.newPage({ locale: 'ru-RU', viewport: { width: 390, height: 844 } });
    await page.goto(`${base}/join?ref=${code}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Бонусная карта');
    expect(await page.locator('body').textContent()).toContain('Вас пригласил друг');
    await page.fill('#phone', '+7 999 444-00-02');
    await page.fill('#name', 'Мария');
    await page.check('input[name=consent]');
    await page.screenshot({ path: join(SHOTS, 'join-form.png'), fullPage: true });
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-card]');
    const card = await page.locator('[data-card]').getAttribute('data-card');
    expect(card).toMatch(/^\d+$/);
    expect(await page.locator('.qr svg').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'join-card.png'), fullPage: true });
    const href = await page.locator('a.button.dark').getAttribute('href');
    const pass = await app.inject({ method: 'GET', url: new URL(href!).pathname });
    expect(pass.statusCode).toBe(200);
    expect(JSON.parse(readZip(pass.rawPayload)['pass.json']!.toString()).serialNumber).toBe(card);
    await page.close();
  });

  it('a cashier double-clicks "Record" in the web till: one receipt, one accrual', async () => {
    const store = await f.core.admin.createStore('Касса у входа');
    await f.core.users.create({ email: 'cashier@shop.test', password: PASSWORD, role: 'cashier', storeId: store.id });
    const member = await f.core.admin.enrol({ phone: '+79994440003', name: 'Ирина', consent: true }, 'admin');
    const page = await browser.newPage({ locale: 'ru-RU', viewport: { width: 1024, height: 768 } });
    await page.goto(`${base}/admin/login`);
    await page.fill('input[name=email]', 'cashier@shop.test');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/admin\/till/);
    await page.fill('#f-q', member.cardNumber);
    await page.click('form[role=search] button');
    await page.click(`a[href*="card=${member.cardNumber}"]`);
    await page.waitForSelector('#till-card');
    await page.fill('#f-total', '1000');
    await page.dblclick('button[data-till=purchase]');
    await page.waitForSelector('#till-result');
    await page.screenshot({ path: join(SHOTS, 'till.png'), fullPage: true });
    await expect.poll(async () => (await f.core.cards.byNumber(member.cardNumber))?.balance).toBe(1030);
    expect((await f.core.audit.page({ action: 'till.purchase' })).items.filter((a) => a.target === member.cardNumber)).toHaveLength(1);
    await page.close();
  });
});
