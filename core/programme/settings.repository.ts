import type { Connection } from 'mongoose';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { settingsVersionModel, type SettingsVersionDoc } from './settings.model.js';
import {
  applySettingsPatch,
  deepFreeze,
  DEFAULT_SETTINGS,
  parseSettings,
  parseSettingsPatch,
  type ProgrammeSettings,
} from './settings.schema.js';

/** Old versions are read when refunding old purchases; a handful covers the recent past. */
const VERSION_CACHE_SIZE = 32;
/** Retries of an update without expectedVersion that lost a race to another writer. */
const UPDATE_ATTEMPTS = 5;

/**
 * Versioned programme settings in `programme_settings`, one document per version. No
 * transactions: every write is a single insert of a new `_id`, so a race has one winner and
 * the loser sees a duplicate key. Settings returned are deep-frozen (they are shared).
 */
export function createSettingsRepository(conn: Connection, options: { cacheMs?: number; clock?: Clock } = {}) {
  const Settings = settingsVersionModel(conn);
  const cacheMs = options.cacheMs ?? 1000;
  const clock = options.clock ?? systemClock;

  // current() is read on every purchase; a second of staleness in other processes is fine,
  // in this process update() replaces the cached value at once.
  let cached: { value: ProgrammeSettings; at: number } | null = null;
  let inflight: { token: number; promise: Promise<ProgrammeSettings> } | null = null;
  let reads = 0;
  // A later read's promise (started after update() cleared this one) is left alone.
  const settle = (token: number): void => {
    if (inflight?.token === token) inflight = null;
  };
  // Bumped by update(): a read that started before it must not put older settings back.
  let generation = 0;
  const versions = new Map<number, ProgrammeSettings>();

  function remember(value: ProgrammeSettings): ProgrammeSettings {
    versions.delete(value.version);
    versions.set(value.version, value);
    if (versions.size > VERSION_CACHE_SIZE) {
      const oldest = versions.keys().next();
      if (!oldest.done) versions.delete(oldest.value);
    }
    return value;
  }

  function fromDoc(d: Pick<SettingsVersionDoc, '_id' | 'settings'>): ProgrammeSettings {
    try {
      return remember(deepFreeze(parseSettings({ ...d.settings, version: d._id })));
    } catch (err) {
      // A stored version that no longer validates is our data's fault, not the caller's.
      throw new Error(`programme_settings version ${d._id} is invalid: ${(err as Error).message}`, { cause: err });
    }
  }

  async function insert(s: ProgrammeSettings): Promise<void> {
    // JSON drops undefined (e.g. no rulesUrl), which the driver would otherwise store as null.
    const settings = JSON.parse(JSON.stringify({ ...s, version: undefined })) as SettingsVersionDoc['settings'];
    await Settings.create({ _id: s.version, settings });
  }

  async function latestDoc(): Promise<SettingsVersionDoc | null> {
    return Settings.findOne().sort({ _id: -1 }).lean<SettingsVersionDoc>();
  }

  /** The highest version in the database; seeds the defaults as version 1 on first use. */
  async function readLatest(): Promise<ProgrammeSettings> {
    const found = await latestDoc();
    if (found) return fromDoc(found);
    try {
      await insert(DEFAULT_SETTINGS);
      return remember(DEFAULT_SETTINGS);
    } catch (err) {
      // Another process (or call) seeded first: theirs is as good as ours, read it.
      if (!isDuplicateKey(err)) throw err;
    }
    const seeded = await latestDoc();
    if (!seeded) throw new Error('programme_settings: version 1 exists by its key but cannot be read');
    return fromDoc(seeded);
  }

  function concurrent(expected: number | undefined, actual: number | undefined): DomainError {
    return new DomainError('concurrent_update', 'settings were changed by someone else meanwhile; reload and retry', {
      ...(expected !== undefined ? { expectedVersion: expected } : {}),
      ...(actual !== undefined ? { currentVersion: actual } : {}),
    });
  }

  return {
    async init(): Promise<void> {
      // Only the built-in _id index is needed; this creates the collection up front.
      await Settings.createIndexes();
    },

    /** The newest settings, cached for cacheMs; concurrent callers share one read. */
    async current(): Promise<ProgrammeSettings> {
      if (cached && clock.now().getTime() - cached.at < cacheMs) return cached.value;
      if (inflight) return inflight.promise;
      const gen = generation;
      const token = ++reads;
      const promise = (async (): Promise<ProgrammeSettings> => {
        try {
          const value = await readLatest();
          if (gen === generation) cached = { value, at: clock.now().getTime() };
          return value;
        } finally {
          settle(token);
        }
      })();
      inflight = { token, promise };
      return promise;
    },

    /** One version as it was; null when it never existed. */
    async byVersion(version: number): Promise<ProgrammeSettings | null> {
      if (!Number.isSafeInteger(version) || version < 1) return null;
      const known = versions.get(version);
      if (known) return known;
      const d = await Settings.findById(version).lean<SettingsVersionDoc>();
      return d ? fromDoc(d) : null;
    },

    /**
     * Writes the current settings with `patch` applied as the next version and returns it.
     * With expectedVersion, fails with concurrent_update unless that is still the newest and
     * this write wins the race for the next one. Without it the edit is re-applied on top of
     * whatever won, a few times, before giving up with concurrent_update.
     */
    async update(patch: unknown, expectedVersion?: number): Promise<ProgrammeSettings> {
      if (expectedVersion !== undefined && (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1)) {
        throw new DomainError('validation_failed', `expectedVersion must be a positive integer, got ${expectedVersion}`);
      }
      // Reject a malformed patch before any database work.
      parseSettingsPatch(patch);
      let lastSeen: number | undefined;
      for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
        // Straight from the database: a cached value would make a stale base version.
        const base = await readLatest();
        lastSeen = base.version;
        if (expectedVersion !== undefined && base.version !== expectedVersion) throw concurrent(expectedVersion, base.version);
        const next = deepFreeze(applySettingsPatch(base, patch, base.version + 1));
        try {
          await insert(next);
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          generation++;
          cached = null;
          if (expectedVersion !== undefined) throw concurrent(expectedVersion, undefined);
          continue;
        }
        generation++;
        cached = { value: remember(next), at: clock.now().getTime() };
        inflight = null;
        return next;
      }
      throw concurrent(expectedVersion, lastSeen);
    },
  };
}
export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
