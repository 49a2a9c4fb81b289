import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createI18n, LANGUAGES, pickLanguage, type I18n } from '../../core/i18n/i18n.js';
import { ERROR_CODES } from '../../core/shared/errors.js';

const root = resolve(import.meta.dirname, '../..');

describe('i18n', () => {
  let i18n: I18n;
  beforeAll(async () => {
    i18n = await createI18n();
  });

  it('loads every namespace file of both languages, ru first', () => {
    expect(LANGUAGES).toEqual(['ru', 'en']);
    expect(i18n.namespaces).toContain('common');
  });

  it('uses Russian plural rules: one, few, many', () => {
    const ru = (count: number): string => i18n.t('ru', 'common:points', { count });
    expect(ru(1)).toBe('1 балл');
    expect(ru(2)).toBe('2 балла');
    expect(ru(5)).toBe('5 баллов');
    expect(ru(11)).toBe('11 баллов');
    expect(ru(21)).toBe('21 балл');
    expect(ru(22)).toBe('22 балла');
    expect(ru(25)).toBe('25 баллов');
  });

  it('uses English plural rules, and the default namespace without a prefix', () => {
    expect(i18n.t('en', 'common:points', { count: 1 })).toBe('1 point');
    expect(i18n.t('en', 'points', { count: 2 })).toBe('2 points');
  });

  it('formats numbers per language', () => {
    const ruNumber = new Intl.NumberFormat('ru').format(1057);
    expect(ruNumber).toMatch(/^1[\u00a0\u202f ]057$/);
    expect(i18n.t('ru', 'common:balance', { balance: 1057 })).toBe(`Баланс: ${ruNumber}`);
    expect(i18n.t('en', 'common:balance', { balance: 1057 })).toBe('Balance: 1,057');
  });

  it('does not HTML-escape interpolated values', () => {
    expect(i18n.t('en', 'common:no.such.key', { defaultValue: 'Hi, {{name}}', name: '<b>Tom & Jerry</b>' })).toBe('Hi, <b>Tom & Jerry</b>');
  });

  it('gives a TFunction bound to one language', () => {
    const t = i18n.fixed('en');
    expect(t('common:points', { count: 5 })).toBe('5 points');
    expect(i18n.fixed('ru')('points', { count: 5 })).toBe('5 баллов');
  });

  it('picks a language from a Telegram/VK language_code', () => {
    expect(pickLanguage('en')).toBe('en');
    expect(pickLanguage('en-US')).toBe('en');
    expect(pickLanguage('EN_gb')).toBe('en');
    expect(pickLanguage('ru')).toBe('ru');
    expect(pickLanguage('ru-RU')).toBe('ru');
    for (const code of ['uk', 'be', 'kk', 'uz', 'ky', 'hy', 'ka', 'az', 'tt']) expect(pickLanguage(code)).toBe('ru');
    for (const code of ['de', 'fr-FR', 'pt-br', 'zh-hans', 'es']) expect(pickLanguage(code)).toBe('en');
    for (const code of [undefined, null, '', '  ', '42', 'x', 'not a language']) expect(pickLanguage(code)).toBe('ru');
    expect(i18n.pickLanguage('en-US')).toBe('en');
  });

  it('has a customer-facing text for every error code in both languages', () => {
    for (const lang of LANGUAGES) {
      for (const code of ERROR_CODES) {
        const text = i18n.t(lang, `common:errors.${code}`);
        expect(text, `${lang} ${code}`).not.toBe('');
        expect(text, `${lang} ${code}`).not.toContain(code);
        expect(text, `${lang} ${code}`).not.toContain('errors.');
      }
    }
    expect(i18n.t('ru', 'common:errors.insufficient_points')).not.toBe(i18n.t('en', 'common:errors.insufficient_points'));
  });

  it('falls back to Russian for a key only Russian has', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loyalty-i18n-'));
    try {
      mkdirSync(join(dir, 'ru'));
      mkdirSync(join(dir, 'en'));
      writeFileSync(join(dir, 'ru', 'common.json'), JSON.stringify({ hello: 'Привет' }));
      writeFileSync(join(dir, 'en', 'common.json'), JSON.stringify({}));
      writeFileSync(join(dir, 'ru', 'bot.json'), JSON.stringify({ menu: { title: 'Меню' } }));
      writeFileSync(join(dir, 'en', 'bot.json'), JSON.stringify({ menu: { title: 'Menu' } }));
      const own = await createI18n({ localesDir: dir });
      expect(own.namespaces).toEqual(['bot', 'common']);
      expect(own.t('en', 'hello')).toBe('Привет');
      expect(own.t('en', 'bot:menu.title')).toBe('Menu');
      expect(own.t('ru', 'bot:menu.title')).toBe('Меню');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('scripts/check-locales.ts', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'loyalty-locales-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  /** A copy of the project's locales and error codes, plus the given source files. */
  function tree(name: string, files: Record<string, string> = {}): string {
    const dir = join(work, name);
    cpSync(join(root, 'locales'), join(dir, 'locales'), { recursive: true });
    mkdirSync(join(dir, 'core/shared'), { recursive: true });
    cpSync(join(root, 'core/shared/errors.ts'), join(dir, 'core/shared/errors.ts'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }

  function check(dir: string): { code: number | null; out: string } {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/check-locales.ts', dir], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  }

  function editJson(path: string, edit: (json: Record<string, unknown>) => void): void {
    const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    edit(json);
    writeFileSync(path, JSON.stringify(json, null, 2));
  }

  it('passes on the locales as they are, with keys used correctly in code', () => {
    const dir = tree('clean', {
      'bots/flows/balance.ts': [
        "import { readFileSync } from 'node:fs';",
        "declare const i18n: { t(lang: string, key: string, o?: object): string };",
        "declare const ctx: { t(key: string, o?: object): string };",
        "export const a = i18n.t('ru', 'common:points', { count: 3 });",
        "export const b = ctx.t('balance', { balance: 5 });",
        "export const c = 'errors.card_blocked';",
        "export const queue = 'loyalty:notifications';",
        'export { readFileSync };',
      ].join('\n'),
    });
    const r = check(dir);
    expect(r.out).toMatch(/locales: \d+ keys in \d+ namespaces, ok/);
    expect(r.code).toBe(0);
  });

  it('fails naming a key used in code that no locale has', () => {
    const dir = tree('missing-key', {
      'core/greeting.ts': [
        "declare function t(lang: string, key: string): string;",
        "export const hi = t('en', 'common:greeting.hello');",
        "export const menu = 'common:menu.title';",
        "export const plural = t('ru', 'common:points');",
      ].join('\n'),
    });
    const r = check(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/missing key common:greeting\.hello in ru, en.*core\/greeting\.ts:2/);
    expect(r.out).toMatch(/missing key common:menu\.title in ru, en.*core\/greeting\.ts:3/);
    expect(r.out).toMatch(/missing key common:points .*only plural forms/);
  });

  it('fails naming every ru/en mismatch and incomplete plural', () => {
    const dir = tree('mismatch');
    editJson(join(dir, 'locales/en/common.json'), (json) => {
      delete (json.errors as Record<string, unknown>).card_blocked;
      json.only_in_en = 'English only';
    });
    editJson(join(dir, 'locales/ru/common.json'), (json) => {
      delete json.points_few;
    });
    writeFileSync(join(dir, 'locales/ru/only-ru.json'), JSON.stringify({ start: 'Старт' }));
    const r = check(dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('common:errors.card_blocked is in ru but missing in en');
    expect(r.out).toMatch(/missing key common:errors\.card_blocked in en.*ERROR_CODES/);
    expect(r.out).toContain('common:only_in_en is in en but missing in ru');
    expect(r.out).toContain('plural points lacks points_few');
    expect(r.out).toContain('locales/ru/only-ru.json has no counterpart locales/en/only-ru.json');
  });
});
