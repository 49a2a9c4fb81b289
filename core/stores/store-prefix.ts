import type { SettingsRepository } from '../programme/settings.repository.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { DomainError } from '../shared/errors.js';

/**
 * A store's own card prefix lives in the settings (cardPrefixes.stores), where enrolment reads
 * it. The edit is merged into whatever version won a concurrent edit, never into a stale copy.
 */
export async function registerStorePrefix(settings: SettingsRepository, storeId: string, prefix: string): Promise<void> {
  await editStorePrefixes(settings, (stores) => ({ ...stores, [storeId]: prefix }));
}

/** Takes a store's prefix back (a store whose creation failed after its prefix was registered). */
export async function unregisterStorePrefix(settings: SettingsRepository, storeId: string): Promise<void> {
  await editStorePrefixes(settings, (stores) => Object.fromEntries(Object.entries(stores).filter(([id]) => id !== storeId)));
}

async function editStorePrefixes(settings: SettingsRepository, edit: (stores: Record<string, string>) => Record<string, string>): Promise<void> {
  let base: ProgrammeSettings = await settings.current();
  for (let attempt = 0; ; attempt++) {
    const stores = edit(base.cardPrefixes.stores);
    try {
      await settings.update({ cardPrefixes: { ...base.cardPrefixes, stores } }, base.version);
      return;
    } catch (err) {
      if (!(err instanceof DomainError) || err.code !== 'concurrent_update' || attempt >= 4) throw err;
      const v = err.details.currentVersion;
      base = (typeof v === 'number' ? await settings.byVersion(v) : null) ?? (await settings.current());
    }
  }
}
