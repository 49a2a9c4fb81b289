import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember } from '../helpers/core.js';
import { axe, launchBrowser, screenshot, signIn as signInAs, watch } from './browser.js';
import { startPanelApp, type PanelApp } from './panel.fixture.js';

let t: PanelApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let origin: string;

beforeAll(async () => {
  t = await startPanelApp({ realClock: true, wallet: true });
  origin = await t.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchBrowser();
}, 180_000);
afterAll(async () => {
  await browser.close();
  await t.close();
});

const digits = (s: string | null): string => (s ?? '').replace(/\D/g, '');

const signIn = (page: Page, email: string): Promise<void> => signInAs(browser.context, page, origin, email);

describe('the panel in a browser', () => {
  it('signs in, finds a member by card number and adjusts their points with a reason', async () => {
    const owner = await t.user('owner', 'owner@shop.test');
    const { card, member } = await newMember(t.core);
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    await page.goto(`${origin}/admin/login`);
    await screenshot(page, 'login');
    expect(await axe(page)).toEqual([]);
    await signIn(page, owner.email);

    await page.goto(`${origin}/admin/members`);
    await page.getByLabel('Поиск').fill(card._id);
    // Live search (htmx) swaps the results in place.
    await page.locator('#results a', { hasText: member.name }).first().click();
    await page.waitForURL(`**/admin/members/${String(member._id)}`);
    await expect.poll(async () => digits(await page.locator('#balance').textContent())).toBe(String(card.balance));

    // A bad input: a message next to its field, nothing changed.
    await page.getByLabel('Баллы', { exact: true }).fill('0');
    await page.getByRole('button', { name: 'Провести' }).click();
    await expect.poll(() => page.locator('#f-points-err').textContent()).toContain('больше нуля');
    expect((await t.core.cards.byNumber(card._id))?.balance).toBe(card.balance);

    await page.getByLabel('Баллы', { exact: true }).fill('150');
    await page.getByLabel('Причина').fill('Компенсация за задержку');
    await page.getByRole('button', { name: 'Провести' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Баллы проведены');
    expect((await t.core.cards.byNumber(card._id))?.balance).toBe(card.balance + 150);
    await screenshot(page, 'member');
    expect(await axe(page)).toEqual([]);
    expect(seen.errors).toEqual([]);
    expect(seen.foreign).toEqual([]);
    await page.close();
  }, 120_000);

  it('creates a contest, shows its live entry count, closes it early with a reason and draws it', async () => {
    const marketer = await t.user('marketer', 'marketing@shop.test');
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    await signIn(page, marketer.email);
    expect(new URL(page.url()).pathname).toBe('/admin');
    await page.goto(`${origin}/admin/contests`);
    await page.getByLabel('Название').fill('Сертификат на 3 000 ₽');
    await page.getByLabel('Призов').fill('1');
    // No closing time: refused next to the field, nothing created.
    await page.getByRole('button', { name: 'Создать' }).click();
    await expect.poll(() => page.locator('#f-closesAt-err').textContent()).toContain('дата указана неверно');
    expect(await t.core.contests.list()).toHaveLength(0);
    await page.getByLabel('Приём заявок до').fill(new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 16));
    await page.getByRole('button', { name: 'Создать' }).click();
    await page.waitForURL(/\/admin\/contests\/[a-f0-9]+$/);
    const id = new URL(page.url()).pathname.split('/').pop() ?? '';

    // A member enters from their chat; the page's count follows.
    const { member, card } = await newMember(t.core);
    await t.core.members.linkIdentity(String(member._id), 'telegram:7001');
    await t.core.contests.enter({ contestId: id, channel: 'telegram', account: 'telegram:7001', cardInput: card._id });
    await expect.poll(() => page.locator('#entry-count').textContent(), { timeout: 15_000 }).toBe('1');

    await page.getByRole('button', { name: 'Закрыть приём' }).click();
    await expect.poll(() => page.locator('#f-reason-err').textContent()).toContain('причину');
    await page.getByLabel('Причина досрочного закрытия').fill('Приз закончился раньше');
    await page.getByRole('button', { name: 'Закрыть приём' }).click();
    await expect.poll(() => page.locator('#contest-status').textContent()).toBe('приём закрыт');
    await page.getByRole('button', { name: 'Разыграть' }).click();
    await expect.poll(() => page.locator('#contest-status').textContent()).toBe('разыгран');
    expect(await page.locator('#winners li').count()).toBe(1);
    expect((await t.core.contests.get(id)).status).toBe('drawn');
    await screenshot(page, 'contest');
    expect(await axe(page)).toEqual([]);
    expect(seen.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('publishes a card design: colours and a store location for a level, with the preview following the form', async () => {
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    await signIn(page, 'marketing@shop.test');
    await page.goto(`${origin}/admin/wallet?t=gold`);
    await page.getByLabel('Фон').fill('#7a1f2b');
    // The live preview follows the form before anything is saved.
    await expect.poll(() => page.evaluate("getComputedStyle(document.getElementById('pass-preview')).backgroundColor")).toBe('rgb(122, 31, 43)');
    await page.locator('#f-ru_logo_text').fill('Кофейня «Зерно»');
    await expect.poll(() => page.locator('#pass-preview .pp-org').textContent()).toBe('Кофейня «Зерно»');
    // A bad location line: a message next to it, nothing published.
    await page.getByLabel('Магазины рядом (для этого уровня)').fill('north pole');
    await page.getByRole('button', { name: 'Опубликовать' }).click();
    await expect.poll(() => page.locator('#f-locations-err').textContent()).toContain('широта, долгота');
    expect((await t.wallet!.templates.get('gold')).version).toBe(0);
    await page.getByLabel('Фон').fill('#7a1f2b');
    await page.getByLabel('Магазины рядом (для этого уровня)').fill('55.7512, 37.6184, Мы рядом — заходите');
    await page.getByRole('button', { name: 'Опубликовать' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Дизайн опубликован');
    const design = (await t.wallet!.templates.get('gold')).design;
    expect(design.backgroundColor).toBe('rgb(122, 31, 43)');
    expect(design.locations).toEqual([{ latitude: 55.7512, longitude: 37.6184, relevantText: 'Мы рядом — заходите' }]);
    expect(design.labels?.ru?.logo_text).toBe('Кофейня «Зерно»');
    await screenshot(page, 'wallet-design');
    expect(await axe(page)).toEqual([]);
    expect(seen.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('imports a base as a dry run: progress to done, the error table, nothing changed', async () => {
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    await signIn(page, 'marketing@shop.test');
    await page.goto(`${origin}/admin/imports`);
    const csv = 'Телефон;Имя;Баллы\n+7 999 555-01-01;Ирина;100\nне телефон;Пётр;50\n8 999 555 01 03;Олег;-5\n';
    await page.getByLabel('Файл').setInputFiles({ name: 'base.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Загрузить' }).click();
    await page.waitForURL(/\/admin\/imports\/[\w-]+$/);
    await expect.poll(() => page.locator('#import-status').textContent(), { timeout: 30_000 }).toBe('готово');
    expect(await page.locator('#import-errors tbody tr').count()).toBe(2);
    expect(await t.core.members.findByPhone('+79995550101')).toBeNull();
    await screenshot(page, 'import');
    expect(await axe(page)).toEqual([]);
    expect(seen.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('refuses a support user the pages of their betters, and the owner sees it in the audit log', async () => {
    const support = await t.user('support', 'desk@shop.test');
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    await signIn(page, support.email);
    expect(new URL(page.url()).pathname).toBe('/admin/members');
    expect(await page.locator('nav a[href="/admin/broadcasts"]').count()).toBe(0);
    for (const path of ['/admin/broadcasts', '/admin/settings', '/admin/stores']) {
      const res = await page.goto(`${origin}${path}`);
      expect(res?.status(), path).toBe(403);
      await expect.poll(() => page.locator('h1').textContent()).toBe('Нет доступа');
    }
    await screenshot(page, 'refused');
    expect(await axe(page)).toEqual([]);
    expect(seen.errors).toEqual([]);

    await signIn(page, 'owner@shop.test');
    await page.goto(`${origin}/admin/audit`);
    const log = (await page.locator('#audit').textContent()) ?? '';
    expect(log).toContain('access.refused');
    expect(log).toContain('GET /admin/broadcasts');
    expect(log).toContain('desk@shop.test');
    expect(log).toContain('member.adjust');
    expect(log).toContain('contest.draw');
    expect(log).toContain('wallet.publish');
    await page.close();
  }, 90_000);

  it('every page loads for the owner, in Russian and in English, with no console error, no foreign request and no serious axe violation', async () => {
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    await signIn(page, 'owner@shop.test');
    const links = await page.locator('header nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
    expect(links.length).toBeGreaterThanOrEqual(10);
    const { member } = await newMember(t.core);
    const contest = (await t.core.contests.list())[0];
    const pages = [...links, `/admin/members/${String(member._id)}`, ...(contest ? [`/admin/contests/${contest.id}`] : []), '/admin/account'];
    for (const lang of ['ru', 'en']) {
      await page.goto(`${origin}/admin/lang/${lang}?back=/admin`);
      for (const path of pages) {
        const res = await page.goto(`${origin}${path}`);
        expect(res?.status(), path).toBe(200);
        expect(await page.locator('html').getAttribute('lang')).toBe(lang);
        expect(await axe(page), `${lang} ${path}`).toEqual([]);
        if (lang === 'ru') await screenshot(page, path === '/admin' ? 'dashboard' : path.replace(/^\/admin\//, '').replace(/\/[a-f0-9]{24}$/, '-page').replace(/\//g, '-'));
      }
    }
    // A tablet: the same pages reflow at 768 px.
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.goto(`${origin}/admin/members`);
    await screenshot(page, 'members-tablet');
    expect(await page.evaluate('document.documentElement.scrollWidth <= 768')).toBe(true);
    expect(seen.errors).toEqual([]);
    expect(seen.foreign).toEqual([]);
    await page.close();
  }, 300_000);
});
