import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createInstance, type Resource, type ResourceLanguage, type TFunction } from 'i18next';

/** Languages the product speaks; the first one is the default and the fallback. */
export const LANGUAGES = ['ru', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'ru';
export const DEFAULT_NAMESPACE = 'common';

/** locales/ at the project root (the Docker image keeps the same layout: /app/core, /app/locales). */
export const LOCALES_DIR = resolve(import.meta.dirname, '../../locales');

export interface I18n {
  /** Namespaces loaded (file names under locales/<lang>/ without .json), sorted. */
  readonly namespaces: readonly string[];
  /** Translates `ns:key.path` (namespace defaults to `common`) in `lang`; a missing key comes back as is. */
  t(lang: Language, key: string, options?: Record<string, unknown>): string;
  /** i18next's own TFunction bound to `lang`, for code that wants the native API. */
  fixed(lang: Language): TFunction;
  /** Maps a Telegram/VK `language_code` to a supported language; see the standalone pickLanguage. */
  pickLanguage(code: string | undefined | null): Language;
}

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/**
 * Languages of the former USSR and of Russia's republics: we have no texts in them, and their
 * speakers more often read Russian than English. The Baltic languages are in by the same
 * ex-USSR rule; take them out here if English suits those customers better.
 */
const RUSSIAN_READERS: ReadonlySet<string> = new Set([
  'ru', 'uk', 'be', 'kk', 'uz', 'ky', 'tg', 'tk', 'az', 'hy', 'ka', 'mo', 'lv', 'lt', 'et',
  'tt', 'ba', 'cv', 'ce', 'os', 'sah', 'ab', 'mhr', 'udm', 'kv', 'myv', 'mdf', 'krc', 'kbd', 'av', 'lez',
]);

/**
 * Picks the language for a Telegram/VK `language_code` (BCP 47: 'en', 'en-US', 'ru', 'uk', 'pt-br'…).
 *
 * Decision:
 * - no code at all (Telegram omits it for some users; VK usually sends none), or something that
 *   is not a language tag → 'ru', the store's default language;
 * - 'en' and every 'en-*' → 'en';
 * - ex-USSR / Russian-republic languages (RUSSIAN_READERS) → 'ru';
 * - any other well-formed language ('de', 'fr', 'zh-hans', 'pt-BR'…) → 'en': we cannot speak the
 *   user's language, and English is the better guess for someone whose client is not set to a
 *   language of the region.
 */
export function pickLanguage(code: string | undefined | null): Language {
  if (typeof code !== 'string') return DEFAULT_LANGUAGE;
  const match = /^([a-z]{2,3})(?:[-_][a-z0-9-_]*)?$/i.exec(code.trim());
  const primary = match?.[1]?.toLowerCase();
  if (!primary) return DEFAULT_LANGUAGE;
  if (primary === 'en') return 'en';
  if (RUSSIAN_READERS.has(primary)) return 'ru';
  return 'en';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads every locales/<lang>/<ns>.json; the namespace is the file name without .json. */
export async function loadLocaleResources(localesDir: string = LOCALES_DIR): Promise<{ resources: Resource; namespaces: string[] }> {
  const resources: Resource = {};
  const namespaces = new Set<string>();
  for (const lang of LANGUAGES) {
    const dir = join(localesDir, lang);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    const bundle: ResourceLanguage = {};
    for (const file of files) {
      const path = join(dir, file);
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(path, 'utf8'));
      } catch (err) {
        throw new Error(`${path}: invalid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
      }
      if (!isPlainObject(parsed)) throw new Error(`${path}: must hold a JSON object`);
      const ns = basename(file, '.json');
      bundle[ns] = parsed;
      namespaces.add(ns);
    }
    resources[lang] = bundle;
  }
  return { resources, namespaces: [...namespaces].sort() };
}

/**
 * A fresh i18next instance with every namespace of both languages loaded (no module-level
 * singleton: each caller — a process role, a test — owns its instance).
 */
export async function createI18n(opts: { localesDir?: string } = {}): Promise<I18n> {
  const { resources, namespaces } = await loadLocaleResources(opts.localesDir);
  const instance = createInstance();
  await instance.init({
    resources,
    lng: DEFAULT_LANGUAGE,
    fallbackLng: DEFAULT_LANGUAGE,
    supportedLngs: [...LANGUAGES],
    ns: namespaces.length > 0 ? namespaces : [DEFAULT_NAMESPACE],
    defaultNS: DEFAULT_NAMESPACE,
    // Plurals come from i18next's own resolver (Intl.PluralRules): ru _one/_few/_many/_other, en _one/_other.
    // `{{value, number}}` uses i18next's built-in formatter, i.e. Intl.NumberFormat(lng): 1 057 in ru, 1,057 in en.
    interpolation: {
      // No HTML escaping here: the texts go to Telegram, VK, wallet passes and plain logs, each with
      // its own markup rules (HTML, MarkdownV2, none). The bot that sends HTML escapes the values it
      // interpolates itself; escaping here would show "&lt;" to users on every plain-text channel.
      escapeValue: false,
    },
    returnObjects: false,
    initAsync: false,
  });
  return {
    namespaces,
    t(lang, key, options) {
      return instance.t(key, { ...options, lng: lang });
    },
    fixed(lang) {
      return instance.getFixedT(lang);
    },
    pickLanguage,
  };
}
