import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axe, launchBrowser, screenshot, signIn as signInAs, watch } from './browser.js';
import { startBroadcastDelivery } from './panel.broadcast-env.js';
import { startPanelApp, type PanelApp } from './panel.fixture.js';

let t: PanelApp;
let delivery: Awaited<ReturnType<typeof startBroadcastDelivery>>;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let origin: string;

beforeAll(async () => {
  t = await startPanelApp({ realClock: true });
  delivery = await startBroadcastDelivery(t, { telegram: 3, vk: 2 });
  origin = await t.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchBrowser();
}, 180_000);
afterAll(async () => {
  await browser.close();
  await delivery.close();
  await t.close();
});

const signIn = (page: Page, email: string): Promise<void> => signInAs(browser.context, page, origin, email);

describe('the broadcasts pages in a browser', () => {
  it('a marketer composes a broadcast to a segment, sees the live count, sends it and follows it to done', async () => {
    const marketer = await t.user('marketer');
    const page = await browser.context.newPage();
    const seen = watch(page, origin);
    await signIn(page, marketer.email);
    await page.goto(`${origin}/admin/broadcasts`);
    await page.getByRole('link', { name: 'Новая рассылка' }).click();
    await page.waitForURL('**/admin/broadcasts/new');
    await page.getByLabel('Текст', { exact: true }).fill('Скидка 10% в субботу');
    await page.getByLabel('ВКонтакте').uncheck();
    await page.getByLabel('Apple Wallet').uncheck();
    await page.getByLabel('Кому').selectOption('segment');
    await page.getByLabel('Сегмент').selectOption(delivery.segmentId);
    await page.getByLabel('Не учитывать тихие часы (срочное сообщение)').check();
    // The live count (htmx posts the form to the preview partial on every change).
    await expect.poll(() => page.locator('#recipients-telegram').textContent(), { timeout: 15_000 }).toBe('3');
    await expect.poll(() => page.locator('.preview-tg .bubble').textContent()).toContain('Скидка 10% в субботу');
    expect(await axe(page)).toEqual([]);
    await screenshot(page, 'broadcasts-new');

    await page.getByRole('button', { name: 'Отправить', exact: true }).click();
    await page.waitForURL(/\/admin\/broadcasts\/[a-f0-9]{24}$/);
    // The progress section polls every 2 s until the broadcast is done.
    await expect.poll(() => page.locator('#broadcast-status').textContent(), { timeout: 30_000 }).toBe('завершена');
    await expect.poll(() => page.locator('#sent-telegram').textContent()).toBe('3');
    expect(delivery.tg.sent().filter((m) => (m.text ?? '').includes('Скидка 10%')).length).toBe(3);
    expect(await axe(page)).toEqual([]);

    await page.goto(`${origin}/admin/broadcasts`);
    await expect.poll(() => page.locator('#broadcasts tbody tr').count()).toBe(1);
    expect(await axe(page)).toEqual([]);
    await screenshot(page, 'broadcasts');
    expect(seen.errors).toEqual([]);
    expect(seen.foreign).toEqual([]);
    await page.close();
  }, 180_000);

  it('refuses a support user /admin/broadcasts', async () => {
    const support = await t.user('support');
    const page = await browser.context.newPage();
    await signIn(page, support.email);
    const res = await page.goto(`${origin}/admin/broadcasts`);
    expect(res?.status()).toBe(403);
    await page.close();
  }, 60_000);
});
