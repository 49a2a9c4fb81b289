/**
 * Lint step for locales/: `node --import tsx scripts/check-locales.ts [rootDir]` (root defaults
 * to the project root). Exits 1 listing every problem when
 *  (a) ru and en differ: a namespace file in one language only; a key in one language only
 *      (plural forms compared by base key, `x_one`/`x_few`/… → `x`); a plural missing a form
 *      its language needs (Intl.PluralRules: ru one/few/many/other, en one/other) or carrying a
 *      form the language never uses (`_zero` is always allowed: i18next uses it for count 0);
 *      a key that is a plural in one language and plain in the other; a value that is not a string;
 *  (b) a key used in code (core/, bots/, api/, workers/, and the panel's templates
 *      api/panel/views/*.eta) is missing in ru or en, or an
 *      ERROR_CODES entry (core/shared/errors.ts) has no `common:errors.<code>`.
 *
 * Keys used in code, found on the TypeScript AST (comments and other strings are not keys):
 *  - the key argument of any call `t(...)` / `<anything>.t(...)` (i18n.t, ctx.t, this.i18n.t):
 *    `t(lang, 'key', opts)` (our I18n.t) or `t('key', opts)` (i18next's TFunction);
 *    `{ count }` in the options lets a plural-only key resolve, `{ ns: '…' }` picks the namespace;
 *  - any string literal 'errors.<code>' (→ common:errors.<code>);
 *  - any string literal matching /^[a-z-]+:[a-zA-Z0-9_.-]+$/ whose prefix is an existing
 *    namespace (so 'node:fs' or a Redis key 'loyalty:queue' is not taken for a key); module
 *    specifiers (import/export/import()) are never keys.
 * Keys without a namespace prefix are in `common` (defaultNS).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const LANGS = ['ru', 'en'] as const;
type Lang = (typeof LANGS)[number];
const DEFAULT_NS = 'common';
const CODE_DIRS = ['core', 'bots', 'api', 'workers'];
const PLURAL_SUFFIX = /^(.*?)(_ordinal)?_(zero|one|two|few|many|other)$/;
const NS_KEY = /^([a-z-]+):([a-zA-Z0-9_.-]+)$/;
const ERRORS_KEY = /^errors\.[a-z0-9_]+$/;

interface KeyInfo {
  plain: boolean;
  /** Plural forms present, by type: cardinal (`x_one`) and ordinal (`x_ordinal_one`). */
  cardinal: Set<string>;
  ordinal: Set<string>;
}
/** lang → namespace → base key → forms. */
type Catalog = Map<Lang, Map<string, Map<string, KeyInfo>>>;

interface KeyRef {
  ns: string;
  key: string;
  /** 'no' when we can see the call has no count option: then a plural-only key does not resolve. */
  count: 'yes' | 'no' | 'unknown';
  where: string;
}

const root = resolve(process.argv[2] ?? join(import.meta.dirname, '..'));
const problems: string[] = [];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function flatten(value: Record<string, unknown>, prefix: string, out: Map<string, unknown>): void {
  for (const [k, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isObject(v)) flatten(v, path, out);
    else out.set(path, v);
  }
}

function loadCatalog(): Catalog {
  const catalog: Catalog = new Map();
  for (const lang of LANGS) {
    const byNs = new Map<string, Map<string, KeyInfo>>();
    catalog.set(lang, byNs);
    const dir = join(root, 'locales', lang);
    if (!existsSync(dir)) {
      problems.push(`locales/${lang}: directory missing`);
      continue;
    }
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const ns = file.slice(0, -'.json'.length);
      const rel = `locales/${lang}/${file}`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      } catch (err) {
        problems.push(`${rel}: invalid JSON (${err instanceof Error ? err.message : String(err)})`);
        continue;
      }
      if (!isObject(parsed)) {
        problems.push(`${rel}: must hold a JSON object`);
        continue;
      }
      const flat = new Map<string, unknown>();
      flatten(parsed, '', flat);
      const keys = new Map<string, KeyInfo>();
      for (const [path, value] of flat) {
        if (typeof value !== 'string') problems.push(`${rel}: ${path} must be a string, not ${JSON.stringify(value)}`);
        const m = PLURAL_SUFFIX.exec(path);
        const base = m?.[1] ?? path;
        const info = keys.get(base) ?? { plain: false, cardinal: new Set<string>(), ordinal: new Set<string>() };
        if (!m?.[3]) info.plain = true;
        else (m[2] ? info.ordinal : info.cardinal).add(m[3]);
        keys.set(base, info);
      }
      byNs.set(ns, keys);
    }
  }
  return catalog;
}

function checkPlurals(lang: Lang, ns: string, base: string, forms: Set<string>, type: 'cardinal' | 'ordinal'): void {
  if (forms.size === 0) return;
  const needed = new Intl.PluralRules(lang, { type }).resolvedOptions().pluralCategories;
  const infix = type === 'ordinal' ? '_ordinal' : '';
  const missing = needed.filter((c) => !forms.has(c));
  const extra = [...forms].filter((c) => c !== 'zero' && !needed.includes(c as Intl.LDMLPluralRule));
  if (missing.length > 0) {
    problems.push(`${lang}/${ns}: plural ${base} lacks ${missing.map((c) => `${base}${infix}_${c}`).join(', ')}`);
  }
  if (extra.length > 0) {
    problems.push(`${lang}/${ns}: plural ${base} has ${extra.map((c) => `${base}${infix}_${c}`).join(', ')}, a form ${lang} never uses`);
  }
}

/** (a) ru and en hold the same namespaces and base keys; every plural is complete. */
function compareLanguages(catalog: Catalog): void {
  const ru = catalog.get('ru') ?? new Map<string, Map<string, KeyInfo>>();
  const en = catalog.get('en') ?? new Map<string, Map<string, KeyInfo>>();
  const namespaces = [...new Set([...ru.keys(), ...en.keys()])].sort();
  for (const ns of namespaces) {
    const r = ru.get(ns);
    const e = en.get(ns);
    if (!r || !e) {
      problems.push(`namespace ${ns}: locales/${r ? 'ru' : 'en'}/${ns}.json has no counterpart locales/${r ? 'en' : 'ru'}/${ns}.json`);
      continue;
    }
    for (const [lang, mine, other, otherLang] of [
      ['ru', r, e, 'en'],
      ['en', e, r, 'ru'],
    ] as const) {
      for (const [base, info] of mine) {
        const twin = other.get(base);
        if (!twin) {
          problems.push(`${ns}:${base} is in ${lang} but missing in ${otherLang}`);
          continue;
        }
        checkPlurals(lang, ns, base, info.cardinal, 'cardinal');
        checkPlurals(lang, ns, base, info.ordinal, 'ordinal');
        if (lang === 'ru') {
          for (const type of ['cardinal', 'ordinal'] as const) {
            if ((info[type].size > 0) !== (twin[type].size > 0)) {
              const [has, lacks] = info[type].size > 0 ? ['ru', 'en'] : ['en', 'ru'];
              problems.push(`${ns}:${base} has ${type} plural forms in ${has} but not in ${lacks}`);
            }
          }
        }
      }
    }
  }
}

function listTsFiles(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) listTsFiles(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
}

function literalText(node: ts.Node | undefined): string | undefined {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
}

function isModuleSpecifier(node: ts.Node): boolean {
  const p = node.parent;
  if (ts.isImportDeclaration(p) || ts.isExportDeclaration(p)) return p.moduleSpecifier === node;
  if (ts.isExternalModuleReference(p) || (ts.isLiteralTypeNode(p) && ts.isImportTypeNode(p.parent))) return true;
  if (ts.isCallExpression(p)) {
    const callee = p.expression;
    return callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require');
  }
  return false;
}

function isTCall(node: ts.CallExpression): boolean {
  const callee = node.expression;
  return (ts.isIdentifier(callee) && callee.text === 't') || (ts.isPropertyAccessExpression(callee) && callee.name.text === 't');
}

/** Splits `ns:key`, or takes the key as is in the `ns` option's namespace or the default one. */
function splitKey(raw: string, nsOption: string | undefined): { ns: string; key: string } {
  const m = /^([a-z-]+):(.+)$/.exec(raw);
  if (m?.[1] && m[2]) return { ns: m[1], key: m[2] };
  return { ns: nsOption ?? DEFAULT_NS, key: raw };
}

function inspectOptions(node: ts.Expression | undefined): { count: KeyRef['count']; ns: string | undefined } {
  if (!node) return { count: 'no', ns: undefined };
  if (!ts.isObjectLiteralExpression(node)) return { count: 'unknown', ns: undefined };
  let count: KeyRef['count'] = 'no';
  let ns: string | undefined;
  for (const prop of node.properties) {
    if (ts.isSpreadAssignment(prop)) {
      if (count === 'no') count = 'unknown';
      continue;
    }
    const name = prop.name && (ts.isIdentifier(prop.name) || ts.isStringLiteral(prop.name)) ? prop.name.text : undefined;
    if (name === 'count') count = 'yes';
    if (name === 'ns' && ts.isPropertyAssignment(prop)) ns = literalText(prop.initializer);
  }
  return { count, ns };
}

/** (b) Key references in the code. */
function collectRefs(namespaces: Set<string>): KeyRef[] {
  const files: string[] = [];
  for (const dir of CODE_DIRS) listTsFiles(join(root, dir), files);
  const refs: KeyRef[] = [];
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const at = (node: ts.Node): string =>
      `${relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
    const keyArgs = new Set<ts.Node>();
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && isTCall(node)) {
        const [a0, a1, a2] = node.arguments;
        const first = literalText(a0);
        const second = literalText(a1);
        // t(lang, 'key', opts) — our I18n.t — or t('key', opts) — i18next's TFunction.
        let keyNode: ts.Node | undefined;
        let opts: ts.Expression | undefined;
        if (second !== undefined && (first === undefined || (LANGS as readonly string[]).includes(first))) {
          keyNode = a1;
          opts = a2;
        } else if (first !== undefined) {
          keyNode = a0;
          // i18next also takes t('key', 'default value', opts).
          opts = second !== undefined ? a2 : a1;
        }
        const raw = literalText(keyNode);
        if (keyNode && raw !== undefined) {
          keyArgs.add(keyNode);
          const o = inspectOptions(opts);
          refs.push({ ...splitKey(raw, o.ns), count: o.count, where: at(keyNode) });
        }
      } else if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && !keyArgs.has(node) && !isModuleSpecifier(node)) {
        const m = NS_KEY.exec(node.text);
        if (ERRORS_KEY.test(node.text)) refs.push({ ns: DEFAULT_NS, key: node.text, count: 'unknown', where: at(node) });
        else if (m?.[1] && m[2] && namespaces.has(m[1])) refs.push({ ns: m[1], key: m[2], count: 'unknown', where: at(node) });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return refs;
}

/** The panel's Eta templates: every literal key in `t('ns:key'…)`, and the `{ count: … }` beside it. */
function collectTemplateRefs(): KeyRef[] {
  const refs: KeyRef[] = [];
  const files: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.eta')) files.push(path);
    }
  };
  walk(join(root, 'api/panel/views'));
  // A key joined to a variable part (`t('panel:roles.' + role)`) is not a literal key: skipped.
  const call = /\bt\(\s*'([a-z-]+:[a-zA-Z0-9_.-]+)'\s*(?:\)|,(\s*\{[^}]*\bcount\b)?)/g;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(call)) {
      const line = text.slice(0, m.index).split('\n').length;
      refs.push({ ...splitKey(m[1] ?? '', undefined), count: m[2] ? 'yes' : 'no', where: `${relative(root, file)}:${line}` });
    }
  }
  return refs;
}

async function errorCodes(): Promise<readonly string[]> {
  const path = join(root, 'core/shared/errors.ts');
  if (!existsSync(path)) {
    problems.push('core/shared/errors.ts: not found, cannot check ERROR_CODES');
    return [];
  }
  const mod = (await import(pathToFileURL(path).href)) as { ERROR_CODES?: unknown };
  if (!Array.isArray(mod.ERROR_CODES) || !mod.ERROR_CODES.every((c) => typeof c === 'string')) {
    problems.push('core/shared/errors.ts: ERROR_CODES is not an array of strings');
    return [];
  }
  return mod.ERROR_CODES;
}

function resolves(info: KeyInfo | undefined, count: KeyRef['count']): boolean {
  if (!info) return false;
  return info.plain || (count !== 'no' && info.cardinal.size > 0);
}

async function main(): Promise<void> {
  const catalog = loadCatalog();
  compareLanguages(catalog);
  const namespaces = new Set(LANGS.flatMap((l) => [...(catalog.get(l)?.keys() ?? [])]));
  const refs = [...collectRefs(namespaces), ...collectTemplateRefs()];
  for (const code of await errorCodes()) {
    refs.push({ ns: DEFAULT_NS, key: `errors.${code}`, count: 'no', where: `core/shared/errors.ts (ERROR_CODES '${code}')` });
  }
  // One line per missing key, naming the languages and every place that uses it.
  const missing = new Map<string, { langs: Set<Lang>; where: string[]; pluralOnly: boolean }>();
  for (const ref of refs) {
    for (const lang of LANGS) {
      const info = catalog.get(lang)?.get(ref.ns)?.get(ref.key);
      if (resolves(info, ref.count)) continue;
      const id = `${ref.ns}:${ref.key}`;
      const entry = missing.get(id) ?? { langs: new Set<Lang>(), where: [], pluralOnly: false };
      entry.langs.add(lang);
      if (!entry.where.includes(ref.where)) entry.where.push(ref.where);
      if (info && info.cardinal.size > 0) entry.pluralOnly = true;
      missing.set(id, entry);
    }
  }
  for (const [id, m] of [...missing].sort(([a], [b]) => a.localeCompare(b))) {
    const why = m.pluralOnly ? ' (only plural forms exist: pass { count })' : '';
    problems.push(`missing key ${id} in ${[...m.langs].join(', ')}${why}, used at ${m.where.join(', ')}`);
  }

  if (problems.length > 0) {
    console.error(`locales: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    for (const p of problems) console.error(`  ${p}`);
    process.exitCode = 1;
    return;
  }
  const ru = catalog.get('ru') ?? new Map<string, Map<string, KeyInfo>>();
  const keyCount = [...ru.values()].reduce((n, keys) => n + keys.size, 0);
  console.log(`locales: ${keyCount} keys in ${ru.size} namespaces, ok`);
}

await main();
