import { randomBytes } from 'node:crypto';
import type { CardService } from '../cards/card.service.js';
import { normalizePhone } from '../members/phone.js';
import type { Erasure } from '../privacy/erasure.service.js';
import { DomainError } from '../shared/errors.js';
import type { MemberService } from '../members/member.service.js';
import type { PartnerService } from '../partners/partner.service.js';
import type { SettingsRepository } from '../programme/settings.repository.js';
import { registerStorePrefix, unregisterStorePrefix } from '../stores/store-prefix.js';
import type { KeyRotation, Store, StoreRepository } from '../stores/store.repository.js';
import { renderStorePoster } from '../stores/store-poster.js';
import type { I18n, Language } from '../i18n/i18n.js';

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
export function createAdminService(deps: {
  stores: StoreRepository;
  settings: SettingsRepository;
  members: Pick<MemberService, 'enroll' | 'confirmPhone' | 'phoneHolder'>;
  cards: Pick<CardService, 'resolve'>;
  erasure: Pick<Erasure, 'erase'>;
  partners: Pick<PartnerService, 'exists'>;
}) {
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
    async createStore(name: string, cardPrefix?: string, partnerId?: string): Promise<{ id: string; name: string; key: string; partnerId: string | null }> {
      if (partnerId !== undefined && !(await deps.partners.exists(partnerId))) throw new DomainError('partner_not_found', 'no such partner', { field: 'partnerId' });
      // An ObjectId's 12 bytes, chosen here so the prefix can be registered before the insert.
      const id = randomBytes(12).toString('hex');
      if (cardPrefix) await registerStorePrefix(deps.settings, id, cardPrefix);
      try {
        const { store, key } = await deps.stores.create(name, cardPrefix ?? null, id, partnerId ?? null);
        return { id: store.id, name: store.name, key, partnerId: store.partnerId };
      } catch (err) {
        if (cardPrefix) await unregisterStorePrefix(deps.settings, id).catch(() => undefined);
        throw err;
      }
    },

    /** The printable poster of a store: its name and a QR code of `<publicUrl>/join?store=<id>`. */
    async storePoster(storeId: string, opts: { publicUrl: string; lang: Language; i18n: Pick<I18n, 't'> }): Promise<{ pdf: Buffer; fileName: string }> {
      const store = /^[0-9a-f]{24}$/.test(storeId) ? await deps.stores.findById(storeId) : null;
      if (!store) throw new DomainError('store_not_found', 'no such store');
      const settings = await deps.settings.current();
      const joinUrl = `${opts.publicUrl.replace(/\/+$/, '')}/join?store=${store.id}`;
      const { pdf } = await renderStorePoster({ storeName: store.name, joinUrl, welcomeBonus: settings.welcomeBonus, lang: opts.lang, i18n: opts.i18n });
      return { pdf, fileName: `poster-${store.id}.pdf` };
    },

    listStores(): Promise<Store[]> {
      return deps.stores.list();
    },

    /** A new API key for a store; the old ones stop now or after `graceMinutes` (the till's switch-over). */
    rotateStoreKey(storeId: string, graceMinutes?: number): Promise<KeyRotation> {
      return deps.stores.rotateKey(storeId, graceMinutes);
    },

    /** Every key of the store stops working now (a leaked key); a rotation makes a new one. */
    async revokeStoreKeys(storeId: string): Promise<{ storeId: string; revoked: number }> {
      return { storeId, revoked: await deps.stores.revokeKeys(storeId) };
    },

    /**
     * "Delete my data" asked of the support desk (a member with no chat, who joined at the till):
     * the member holding the phone, or the member of the card, is erased as from the chat.
     */
    async eraseMember(by: { phone?: string | undefined; cardNumber?: string | undefined }): Promise<{ memberId: string; cardNumber: string | null }> {
      let memberId: string | null = null;
      let cardNumber: string | null = null;
      if (by.cardNumber !== undefined) {
        const card = await deps.cards.resolve(by.cardNumber, { allowInactive: true });
        memberId = card.memberId;
        cardNumber = card._id;
      } else if (by.phone !== undefined) {
        const phone = normalizePhone(by.phone);
        if (!phone) throw new DomainError('phone_invalid', 'phone number is not valid');
        const holder = await deps.members.phoneHolder(phone);
        memberId = holder ? String(holder.member._id) : null;
        cardNumber = holder?.member.cardNumber ?? null;
      } else {
        throw new DomainError('validation_failed', 'give the phone or the card number');
      }
      if (!memberId) throw new DomainError('member_not_found', 'no member with this phone or card');
      await deps.erasure.erase(memberId);
      return { memberId, cardNumber };
    },

    /**
     * Enrols (or finds, by phone) a member; `created` is false for a phone already known. The
     * shop vouches for the number (the store key or the admin token is the credential), so it
     * is proved: a member who had only typed it loses it to the new one. With `cardNumber`
     * (the card the customer shows, e.g. in their VK chat), the number is confirmed for that
     * card's member instead: their waiting bonuses are given, nobody new is made.
     */
    async enrol(input: { phone: string; name: string; consent: boolean; cardNumber?: string | undefined }, channel: 'till' | 'admin', storeId?: string): Promise<Enrolment> {
      if (!input.consent) throw new DomainError('consent_required', 'consent to personal data processing is required');
      if (input.cardNumber !== undefined) {
        const card = await deps.cards.resolve(input.cardNumber);
        if (!card.memberId) throw new DomainError('member_not_found', 'this card has no member');
        const r = await deps.members.confirmPhone(card.memberId, input.phone, channel);
        return { memberId: String(r.member._id), cardNumber: r.card._id, balance: r.card.balance, created: false };
      }
      const r = await deps.members.enroll({ phone: input.phone, name: input.name, consent: input.consent, channel, ...(storeId ? { storeId } : {}) });
      return { memberId: String(r.member._id), cardNumber: r.card._id, balance: r.card.balance, created: r.created };
    },
  };
}
export type AdminService = ReturnType<typeof createAdminService>;
