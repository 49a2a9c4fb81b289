import { randomBytes } from 'node:crypto';
import type { Channel } from '../members/member.model.js';
import type { MemberService } from '../members/member.service.js';
import type { SettingsRepository } from '../programme/settings.repository.js';
import { registerStorePrefix, unregisterStorePrefix } from '../stores/store-prefix.js';
import type { Store, StoreRepository } from '../stores/store.repository.js';

export interface Enrolment {
  memberId: string;
  cardNumber: string;
  balance: number;
  created: boolean;
}

/**
 * The admin operations shared by the admin API and the admin CLI (scripts/admin.ts), so both
 * do exactly the same thing.
 */
export function createAdminService(deps: { stores: StoreRepository; settings: SettingsRepository; members: Pick<MemberService, 'enroll'> }) {
  return {
    /**
     * Creates a store and its API key; the key is returned this once and stored only hashed.
     * A store and its card prefix are two documents (the store, and the settings where
     * enrolment reads the prefix) and a standalone MongoDB has no transaction over both, so the
     * order makes it safe: the prefix is registered under the new store's id first, then the
     * store is inserted. A store therefore never exists (nor gets a key) without its prefix; a
     * failed insert takes the prefix back, and a crash in between leaves only a prefix entry
     * that names no store and so issues nothing.
     */
    async createStore(name: string, cardPrefix?: string): Promise<{ id: string; name: string; key: string }> {
      // An ObjectId's 12 bytes, chosen here so the prefix can be registered before the insert.
      const id = randomBytes(12).toString('hex');
      if (cardPrefix) await registerStorePrefix(deps.settings, id, cardPrefix);
      try {
        const { store, key } = await deps.stores.create(name, cardPrefix ?? null, id);
        return { id: store.id, name: store.name, key };
      } catch (err) {
        if (cardPrefix) await unregisterStorePrefix(deps.settings, id).catch(() => undefined);
        throw err;
      }
    },

    listStores(): Promise<Store[]> {
      return deps.stores.list();
    },

    /** Enrols (or finds, by phone) a member; `created` is false for a phone already known. */
    async enrol(input: { phone: string; name: string; consent: boolean }, channel: Channel, storeId?: string): Promise<Enrolment> {
      const r = await deps.members.enroll({ ...input, channel, ...(storeId ? { storeId } : {}) });
      return { memberId: String(r.member._id), cardNumber: r.card._id, balance: r.card.balance, created: r.created };
    },
  };
}
export type AdminService = ReturnType<typeof createAdminService>;
