import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PASSWORD } from './panel.fixture.js';
// @ts-expect-error -- a plain .mjs script without types (also run by npm's pretest and .ci/run)
import { CHROMIUM, installChromium } from '../../scripts/install-chromium.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
export const SCREENSHOTS = resolve(import.meta.dirname, '../../docs/screenshots');

/** Debian's chromium, headless, in a fresh profile; installed first when missing (as redis-server is). */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const found = (installChromium as () => { path: string | null; reason?: string })();
  if (!found.path) throw new Error(`no chromium: ${found.reason ?? ''}`);
  const profile = mkdtempSync(join(tmpdir(), 'panel-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM as string,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    locale: 'ru-RU',
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Every console error and uncaught exception of a page, and every request to another host. */
export function watch(page: Page, origin: string): { errors: string[]; foreign: string[] } {
  const seen = { errors: [] as string[], foreign: [] as string[] };
  page.on('console', (m) => {
    // Chrome logs every 4xx page as "Failed to load resource": a form answered 400 with its
    // field errors is the panel working. Sub-resources are checked by status below instead.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) seen.errors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('response', (r) => {
    const type = r.request().resourceType();
    if (r.status() >= 500 || (r.status() >= 400 && type !== 'document' && type !== 'fetch' && type !== 'xhr')) seen.errors.push(`${r.url()}: HTTP ${r.status()} (${type})`);
  });
  page.on('requestfailed', (r) => seen.errors.push(`${r.url()}: ${r.failure()?.errorText ?? 'failed'}`));
  page.on('pageerror', (e) => seen.errors.push(`${page.url()}: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) seen.foreign.push(r.url());
  });
  return seen;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core injected into the page: its serious and critical violations. */
export async function axe(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE });
  // Evaluated in the page (a string: this project compiles without the DOM library).
  const result = await page.evaluate<{ violations: AxeViolation[] }>("axe.run(document, { resultTypes: ['violations'] })");
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target })) }));
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs in as `email` with the fixture's password (one browser profile a run: the previous user's cookies go first). */
export async function signIn(context: BrowserContext, page: Page, origin: string, email: string): Promise<void> {
  await context.clearCookies();
  await page.goto(`${origin}/admin/login`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Пароль').fill(PASSWORD);
  await page.getByRole('button', { name: 'Войти' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/admin/login'));
}
