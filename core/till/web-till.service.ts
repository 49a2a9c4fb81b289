import { randomBytes } from 'node:crypto';
import type { CardService } from '../cards/card.service.js';
import type { createMemberDirectory } from '../members/member-directory.js';
import type { MemberRow } from '../members/member-directory.repository.js';
import type { PartnerService } from '../partners/partner.service.js';
import { termsFor } from '../partners/partner.terms.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { PurchaseResult, RefundInput, RefundResult } from '../purchases/purchase.types.js';
import type { createPurchaseService } from '../purchases/purchase.service.js';
import { DomainError } from '../shared/errors.js';
import type { Store, StoreRepository } from '../stores/store.repository.js';
import type { StaffRole } from '../users/user.roles.js';

type Purchases = Pick<ReturnType<typeof createPurchaseService>, 'purchase' | 'refund'>;

export interface TillCard {
  number: string;
  name: string | null;
  balance: number;
  level: { id: string; name: { ru: string; en: string } };
  /** The accrual percent at this store (its partner's terms at the member's level), in bp. */
  percentBp: number;
  /** Most of a receipt points may pay at this store, in bp. */
  redeemCapBp: number;
  status: string;
}

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/**
 * The web till ("Касса") for shops without a POS integration: the same purchase and refund
 * services as the till API, for the store the signed-in staff works at. A cashier works at its
 * own store only; an owner picks one. A receipt id is made when the form is drawn, so a double
 * click or a resent form is the same receipt (the ledger answers the first result).
 */
export function createWebTill(deps: {
  purchases: Purchases;
  cards: Pick<CardService, 'resolve' | 'view'>;
  directory: Pick<ReturnType<typeof createMemberDirectory>, 'search'>;
  members: { byId(id: string): Promise<{ name: string; status: string } | null> };
  stores: Pick<StoreRepository, 'findById' | 'list'>;
  partners: Pick<PartnerService, 'terms'>;
  settings: () => Promise<ProgrammeSettings>;
}) {
  return {
    /** The store `user` works at now: a cashier's own (asking for another is forbidden); for an owner the one asked for, or null. */
    async storeFor(user: { role: StaffRole; storeId: string | null }, asked?: string): Promise<Store | null> {
      if (user.role === 'cashier') {
        if (!user.storeId) throw new DomainError('store_required', 'this cashier has no store');
        if (asked && asked !== user.storeId) throw new DomainError('forbidden', "a cashier works at its own store's till only");
        const own = await deps.stores.findById(user.storeId);
        if (!own?.active) throw new DomainError('store_not_found', "the cashier's store is gone");
        return own;
      }
      if (!asked) return null;
      const s = /^[0-9a-f]{24}$/.test(asked) ? await deps.stores.findById(asked) : null;
      if (!s?.active) throw new DomainError('store_not_found', 'no such store');
      return s;
    },

    /** Stores an owner may pick from. */
    stores: async (): Promise<Store[]> => (await deps.stores.list()).filter((s) => s.active),

    /** Members by card number, phone (proved) or name. */
    async find(q: string): Promise<MemberRow[]> {
      return (await deps.directory.search(q, { limit: 20 })).items.filter((m) => m.cardNumber !== null);
    },

    /** A card as the till shows it, with this store's terms. */
    async card(store: Store, number: string): Promise<TillCard> {
      const c = await deps.cards.resolve(number, { allowInactive: true });
      const settings = await deps.settings();
      const view = deps.cards.view(c, settings);
      const terms = termsFor(settings, view.level, await deps.partners.terms(store.partnerId));
      const member = c.memberId ? await deps.members.byId(c.memberId) : null;
      return {
        number: c._id,
        name: member && member.status !== 'erased' ? member.name : null,
        balance: view.balance,
        level: { id: view.level.id, name: view.level.name },
        percentBp: terms.percentBp,
        redeemCapBp: terms.redeemCapBp,
        status: c.status,
      };
    },

    /** A fresh receipt id for a form (short, for the cashier to read out or write on the paper receipt). */
    newReceiptId(): string {
      return `W${[...randomBytes(10)].map((b) => ALPHABET[b % ALPHABET.length]).join('')}`;
    },

    purchase(store: Store, input: { receiptId: string; cardNumber: string; totalKopecks: number; discountKopecks: number; redeemPoints: number }): Promise<{ result: PurchaseResult; replayed: boolean }> {
      return deps.purchases.purchase({ storeId: store.id, partnerId: store.partnerId, ...input });
    },

    /** A refund of a receipt of this store (another store's receipt is purchase_not_found). */
    refund(store: Store, input: Omit<RefundInput, 'storeId'>): Promise<{ result: RefundResult; replayed: boolean }> {
      return deps.purchases.refund({ storeId: store.id, ...input });
    },
  };
}
