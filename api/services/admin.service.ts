import type { Core } from '../../core/core.js';
import type { Channel } from '../../core/members/member.model.js';
import { registerStorePrefix } from '../../core/stores/store-prefix.js';
import { storeModel } from '../../core/stores/store.model.js';
import type { Store } from '../../core/stores/store.repository.js';
import type { Connection } from '../../infra/mongo.js';

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
export function createAdminService(deps: { core: Core; mongo: Connection }) {
  const { core } = deps;

  return {
    /** Creates a store and its API key; the key is returned this once and stored only hashed. */
    async createStore(name: string, cardPrefix?: string): Promise<{ id: string; name: string; key: string }> {
      const { store, key } = await core.stores.create(name, cardPrefix ?? null);
      if (cardPrefix) await registerStorePrefix(core.settings, store.id, cardPrefix);
      return { id: store.id, name: store.name, key };
    },

    async listStores(): Promise<Store[]> {
      const docs = await storeModel(deps.mongo).find({}, { name: 1, keyHint: 1, cardPrefix: 1, active: 1 }).sort({ createdAt: 1 }).lean();
      return docs.map((d) => ({ id: String(d._id), name: d.name, keyHint: d.keyHint, cardPrefix: d.cardPrefix ?? null, active: d.active }));
    },

    /** Enrols (or finds, by phone) a member; `created` is false for a phone already known. */
    async enrol(input: { phone: string; name: string; consent: boolean }, channel: Channel, storeId?: string): Promise<Enrolment> {
      const r = await core.members.enroll({ ...input, channel, ...(storeId ? { storeId } : {}) });
      return { memberId: String(r.member._id), cardNumber: r.card._id, balance: r.card.balance, created: r.created };
    },
  };
}
export type AdminService = ReturnType<typeof createAdminService>;
