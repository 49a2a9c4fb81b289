import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSettingsRepository } from '../../core/programme/settings.repository.js';
import {
  applySettingsPatch,
  DEFAULT_SETTINGS,
  parseSettings,
  parseSettingsPatch,
  type ProgrammeSettings,
} from '../../core/programme/settings.schema.js';
import { fixedClock } from '../helpers/clock.js';
import { DomainError } from '../../core/shared/errors.js';
import type { Connection } from '../../infra/mongo.js';
import { testMongo, uniqueName } from '../helpers/env.js';

function caught(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a DomainError');
}

async function rejected(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (err instanceof DomainError) return err;
  throw err;
}

const clone = (): ProgrammeSettings => structuredClone(DEFAULT_SETTINGS);

describe('settings schema', () => {
  it('has the defaults of the case studies', () => {
    expect(DEFAULT_SETTINGS.version).toBe(1);
    expect(DEFAULT_SETTINGS.pointValueKopecks).toBe(100);
    expect(DEFAULT_SETTINGS.levels.map((l) => [l.id, l.percentBp, l.minSpendKopecks])).toEqual([
      ['base', 300, 0],
      ['silver', 500, 500_000],
      ['gold', 1000, 1_000_000],
      ['platinum', 1500, 1_500_000],
      ['vip', 2000, 4_000_000],
    ]);
    expect(DEFAULT_SETTINGS.manualLevels).toEqual([{ id: 'staff', name: { ru: 'Сотрудник', en: 'Staff' }, percentBp: 2000 }]);
    expect(DEFAULT_SETTINGS).toMatchObject({
      redeemCapBp: 10_000,
      expiryMonths: 6,
      welcomeBonus: 1000,
      referral: { bonus: 3000, monthlyCap: 10 },
      cardPrefixes: { channels: { telegram: '71', vk: '72', twitch: '73', console: '79', till: '70', admin: '70' }, stores: {} },
      cardRandomDigits: 11,
      consentTextVersion: '2026-01',
    });
    expect(DEFAULT_SETTINGS.rulesUrl).toBeUndefined();
  });

  it('fills missing top-level keys with defaults and round-trips the defaults', () => {
    expect(parseSettings({})).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings({ version: 7, welcomeBonus: 0 })).toEqual({ ...DEFAULT_SETTINGS, version: 7, welcomeBonus: 0 });
    expect(parseSettings(JSON.parse(JSON.stringify(DEFAULT_SETTINGS)))).toEqual(DEFAULT_SETTINGS);
  });

  it('keeps the defaults safe from callers that edit what they got', () => {
    const s = parseSettings({});
    s.levels[0]!.percentBp = 9999;
    s.cardPrefixes.stores.x = 'AB';
    expect(parseSettings({}).levels[0]!.percentBp).toBe(300);
    expect(parseSettings({}).cardPrefixes.stores).toEqual({});
    expect(() => {
      (DEFAULT_SETTINGS.levels[0] as { percentBp: number }).percentBp = 1;
    }).toThrow(TypeError);
  });

  it.each([
    ['unsorted levels', (s: ProgrammeSettings) => void s.levels.reverse(), /levels\.\d\.minSpendKopecks/],
    ['equal thresholds', (s: ProgrammeSettings) => void (s.levels[2]!.minSpendKopecks = s.levels[1]!.minSpendKopecks), /levels\.2\.minSpendKopecks: must be greater/],
    ['first level above 0', (s: ProgrammeSettings) => void (s.levels[0]!.minSpendKopecks = 100), /levels\.0\.minSpendKopecks: the first level must start at 0/],
    ['no levels', (s: ProgrammeSettings) => void (s.levels = []), /levels: at least one level/],
    ['duplicate level ids', (s: ProgrammeSettings) => void (s.levels[1]!.id = 'base'), /levels\.1\.id: duplicate level id 'base'/],
    ['manual id same as a spend level', (s: ProgrammeSettings) => void (s.manualLevels[0]!.id = 'gold'), /manualLevels\.0\.id: duplicate level id 'gold'/],
    ['percent above 100%', (s: ProgrammeSettings) => void (s.levels[4]!.percentBp = 10_001), /levels\.4\.percentBp/],
    ['negative percent', (s: ProgrammeSettings) => void (s.manualLevels[0]!.percentBp = -1), /manualLevels\.0\.percentBp/],
    ['fractional percent', (s: ProgrammeSettings) => void (s.levels[1]!.percentBp = 5.5), /levels\.1\.percentBp/],
    ['fractional kopecks', (s: ProgrammeSettings) => void (s.levels[1]!.minSpendKopecks = 500_000.5), /levels\.1\.minSpendKopecks/],
    ['cap above 100%', (s: ProgrammeSettings) => void (s.redeemCapBp = 10_001), /redeemCapBp/],
    ['lower-case prefix', (s: ProgrammeSettings) => void (s.cardPrefixes.channels.vk = 'vk'), /cardPrefixes\.channels\.vk: must be 1–4 of A-Z 0-9/],
    ['long prefix', (s: ProgrammeSettings) => void (s.cardPrefixes.channels.telegram = '71234'), /cardPrefixes\.channels\.telegram/],
    ['store prefix', (s: ProgrammeSettings) => void (s.cardPrefixes.stores = { shop1: 'A-1' }), /cardPrefixes\.stores\.shop1/],
    ['store id with a dot', (s: ProgrammeSettings) => void (s.cardPrefixes.stores = { 'a.b': 'AB' }), /cardPrefixes\.stores/],
    ['too few random digits', (s: ProgrammeSettings) => void (s.cardRandomDigits = 4), /cardRandomDigits/],
    ['non-http rules URL', (s: ProgrammeSettings) => void (s.rulesUrl = 'javascript:alert(1)'), /rulesUrl: must be an http\(s\) URL/],
    ['zero point value', (s: ProgrammeSettings) => void (s.pointValueKopecks = 0), /pointValueKopecks/],
    ['version 0', (s: ProgrammeSettings) => void (s.version = 0), /version/],
  ])('rejects %s, naming the problem', (_what, breakIt, message) => {
    const s = clone();
    breakIt(s);
    const err = caught(() => parseSettings(s));
    expect(err.code).toBe('validation_failed');
    expect(err.message).toMatch(message);
    expect(err.details.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.any(String), message: expect.any(String) })]));
  });

  it('lists every problem at once', () => {
    const s = clone();
    s.redeemCapBp = -1;
    s.levels[0]!.minSpendKopecks = 5;
    s.cardPrefixes.channels.admin = '';
    const err = caught(() => parseSettings(s));
    expect(err.details.problems).toHaveLength(3);
    expect(err.message).toMatch(/redeemCapBp/);
    expect(err.message).toMatch(/levels\.0\.minSpendKopecks/);
    expect(err.message).toMatch(/cardPrefixes\.channels\.admin/);
  });

  it('accepts a well-formed custom programme', () => {
    const s = parseSettings({
      version: 3,
      pointValueKopecks: 1000,
      levels: [{ id: 'only', name: { ru: 'Единый', en: 'Single' }, percentBp: 0, minSpendKopecks: 0 }],
      manualLevels: [],
      redeemCapBp: 0,
      cardPrefixes: { channels: { telegram: 'TG', vk: 'VK', twitch: 'TW', console: '9', till: 'ABCD', admin: '0' }, stores: { '665f1c2b9d3e4a0012345678': 'S1' } },
      cardRandomDigits: 19,
      rulesUrl: 'https://shop.example/rules',
    });
    expect(s.levels).toHaveLength(1);
    expect(s.rulesUrl).toBe('https://shop.example/rules');
  });

  it('patches replace whole top-level values and refuse unknown keys and the version', () => {
    const base = parseSettings({});
    const next = applySettingsPatch(base, { welcomeBonus: 500, referral: { bonus: 100, monthlyCap: 2 } }, 2);
    expect(next).toEqual({ ...base, version: 2, welcomeBonus: 500, referral: { bonus: 100, monthlyCap: 2 } });
    // Half a referral is refused rather than half-reset to defaults.
    expect(caught(() => parseSettingsPatch({ referral: { bonus: 100 } })).message).toMatch(/referral\.monthlyCap/);
    expect(caught(() => parseSettingsPatch({ welcomBonus: 5 })).message).toMatch(/welcomBonus/);
    expect(caught(() => parseSettingsPatch({ version: 5 })).message).toMatch(/version/);
    // Cross-key rules are checked on the result.
    const dup = caught(() => applySettingsPatch(base, { manualLevels: [{ id: 'vip', name: { ru: 'В', en: 'V' }, percentBp: 1 }] }, 2));
    expect(dup.message).toMatch(/duplicate level id 'vip'/);
    // null removes the optional link.
    const linked = applySettingsPatch(base, { rulesUrl: 'https://x.example/r' }, 2);
    expect(applySettingsPatch(linked, { rulesUrl: null }, 3).rulesUrl).toBeUndefined();
    expect(applySettingsPatch(linked, {}, 3).rulesUrl).toBe('https://x.example/r');
  });
});

describe('settings repository (MongoDB-wire server)', () => {
  let conn: Connection;
  beforeAll(async () => {
    conn = await testMongo(uniqueName('settings'));
  });
  afterAll(async () => {
    await conn.dropDatabase();
    await conn.close();
  });

  /** Each case gets its own collection state: the repository always uses `programme_settings`. */
  async function fresh() {
    await conn.collection('programme_settings').deleteMany({});
    const repo = createSettingsRepository(conn, { cacheMs: 0 });
    await repo.init();
    return repo;
  }

  it('creates the defaults once under 10 concurrent first reads from separate repositories', async () => {
    await fresh();
    // Separate repositories share no cache and no in-flight read: every one races to seed.
    const repos = Array.from({ length: 10 }, () => createSettingsRepository(conn, { cacheMs: 0 }));
    const results = await Promise.all(repos.map((r) => r.current()));
    for (const s of results) expect(s).toEqual(DEFAULT_SETTINGS);
    expect(await conn.collection('programme_settings').countDocuments()).toBe(1);
    const raw = await conn.collection('programme_settings').findOne({});
    expect(raw?._id).toBe(1);
  });

  it('creates the defaults once under 10 concurrent first reads from one repository', async () => {
    const repo = await fresh();
    const results = await Promise.all(Array.from({ length: 10 }, () => repo.current()));
    for (const s of results) expect(s.version).toBe(1);
    expect(await conn.collection('programme_settings').countDocuments()).toBe(1);
  });

  it('update makes version 2 and version 1 stays readable as it was', async () => {
    const repo = await fresh();
    const v1 = await repo.current();
    const v2 = await repo.update({ welcomeBonus: 250, expiryMonths: 12 }, 1);
    expect(v2).toEqual({ ...v1, version: 2, welcomeBonus: 250, expiryMonths: 12 });
    expect(await repo.current()).toEqual(v2);
    // A repository with nothing cached sees the same.
    const other = createSettingsRepository(conn, { cacheMs: 0 });
    expect(await other.current()).toEqual(v2);
    expect(await other.byVersion(1)).toEqual(DEFAULT_SETTINGS);
    expect(await other.byVersion(2)).toEqual(v2);
    expect(await other.byVersion(3)).toBeNull();
    expect(await other.byVersion(0)).toBeNull();
    expect(await conn.collection('programme_settings').countDocuments()).toBe(2);
    // Empty objects and absent optionals survive storage as they were.
    const raw = await conn.collection('programme_settings').findOne({ _id: 2 } as Record<string, unknown>);
    expect(raw?.settings).toMatchObject({ cardPrefixes: { stores: {} } });
    expect(raw?.settings).not.toHaveProperty('rulesUrl');
    expect(raw?.settings).not.toHaveProperty('version');
  });

  it('lets exactly one of two concurrent updates from the same version win', async () => {
    await fresh();
    const a = createSettingsRepository(conn, { cacheMs: 0 });
    const b = createSettingsRepository(conn, { cacheMs: 0 });
    await a.current();
    const outcomes = await Promise.allSettled([a.update({ welcomeBonus: 111 }, 1), b.update({ welcomeBonus: 222 }, 1)]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const reason: unknown = (lost[0] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(DomainError);
    expect((reason as DomainError).code).toBe('concurrent_update');
    const latest = await createSettingsRepository(conn).current();
    expect(latest.version).toBe(2);
    expect(latest.welcomeBonus).toBe((won[0] as PromiseFulfilledResult<ProgrammeSettings>).value.welcomeBonus);
    expect(await conn.collection('programme_settings').countDocuments()).toBe(2);
  });

  it('refuses an update against a version that is no longer the newest', async () => {
    const repo = await fresh();
    await repo.update({ welcomeBonus: 1 }, 1);
    const err = await rejected(repo.update({ welcomeBonus: 2 }, 1));
    expect(err.code).toBe('concurrent_update');
    expect(err.details).toMatchObject({ expectedVersion: 1, currentVersion: 2 });
    expect((await repo.current()).welcomeBonus).toBe(1);
  });

  it('without expectedVersion, concurrent updates all land, one version each', async () => {
    await fresh();
    const repos = Array.from({ length: 4 }, () => createSettingsRepository(conn, { cacheMs: 0 }));
    await repos[0]!.current();
    const results = await Promise.all(repos.map((r, i) => r.update({ welcomeBonus: 100 + i })));
    expect(results.map((s) => s.version).sort()).toEqual([2, 3, 4, 5]);
    expect(await conn.collection('programme_settings').countDocuments()).toBe(5);
  });

  it('rejects invalid settings, naming the problem, and writes nothing', async () => {
    const repo = await fresh();
    await repo.current();
    const levels = clone().levels;
    levels[1]!.minSpendKopecks = 0;
    const unsorted = await rejected(repo.update({ levels }));
    expect(unsorted.code).toBe('validation_failed');
    expect(unsorted.message).toMatch(/levels\.1\.minSpendKopecks/);
    const prefix = await rejected(repo.update({ cardPrefixes: { channels: { ...DEFAULT_SETTINGS.cardPrefixes.channels, vk: 'vk!' }, stores: {} } }));
    expect(prefix.message).toMatch(/cardPrefixes\.channels\.vk/);
    const unknown = await rejected(repo.update({ bonusForEverything: true }));
    expect(unknown.message).toMatch(/bonusForEverything/);
    expect((await rejected(repo.update({}, 0))).code).toBe('validation_failed');
    expect(await conn.collection('programme_settings').countDocuments()).toBe(1);
  });

  it('caches current() for the configured time, and update() refreshes the cache at once', async () => {
    await fresh();
    const clock = fixedClock(new Date('2026-01-10T10:00:00Z'));
    const cachedRepo = createSettingsRepository(conn, { cacheMs: 1000, clock });
    const writer = createSettingsRepository(conn, { cacheMs: 0 });
    expect((await cachedRepo.current()).version).toBe(1);
    await writer.update({ welcomeBonus: 5 });
    // Another writer's update is seen once the cache has expired…
    clock.advance(999);
    expect((await cachedRepo.current()).version).toBe(1);
    clock.advance(1);
    expect((await cachedRepo.current()).version).toBe(2);
    // …while this repository's own update is seen at once.
    await cachedRepo.update({ welcomeBonus: 6 });
    expect(await cachedRepo.current()).toMatchObject({ version: 3, welcomeBonus: 6 });
  });

  it('returns frozen settings, so shared cached values cannot be edited in place', async () => {
    const repo = await fresh();
    const s = await repo.current();
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.levels[0])).toBe(true);
  });

  it('refuses to serve a stored version that no longer validates', async () => {
    const repo = await fresh();
    await conn.collection('programme_settings').insertOne({ _id: 1, settings: { ...clone(), redeemCapBp: 20_000 } } as Record<string, unknown>);
    await expect(repo.current()).rejects.toThrow(/programme_settings version 1 is invalid: .*redeemCapBp/);
  });
});
