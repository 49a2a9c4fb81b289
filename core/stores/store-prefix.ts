import type { SettingsRepository } from '../programme/settings.repository.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { DomainError } from '../shared/errors.js';

/**
 * A store's own card prefix lives in the settings (cardPrefixes.stores), where enrolment reads
 * it. The edit is merged into whatever version won a concurrent edit, never into a stale copy.
 */
export async function registerStorePrefix(settings: SettingsRepository, storeId: string, prefix: string): Promise<void> {
  let base: ProgrammeSettings = await settings.current();
  for (let attempt = 0; ; attempt++) {
    const stores = { ...base.cardPrefixes.stores, [storeId]: prefix };
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
