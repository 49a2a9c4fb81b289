import { createHash } from 'node:crypto';
import type { CardDoc } from '../cards/card.model.js';
import type { CardService } from '../cards/card.service.js';
import type { EntryDoc } from '../ledger/entry.model.js';
import type { Ledger } from '../ledger/ledger.service.js';
import type { LineRequest } from '../ledger/ledger.types.js';
import type { MemberService } from '../members/member.service.js';
import type { PartnerService } from '../partners/partner.service.js';
import { termsFor, type PartnerTerms } from '../partners/partner.terms.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { levelFor, maxRedeemPoints, quotePurchase } from '../programme/rules.js';
import { parseCardNumber } from '../cards/card-number.js';
import { DomainError } from '../shared/errors.js';
import { hashOf, MAX_RECEIPT_KOPECKS, positiveInt } from './purchase.input.js';
import { purchaseKey, type PurchaseInput, type PurchaseResult, type Quote, type RefundInput } from './purchase.types.js';
import { createRefundService } from './refund.service.js';

export type { PurchaseInput, PurchaseResult, Quote, RefundInput };

/** A short stable id of a receipt for the till (the same on every retry). */
export function purchaseIdOf(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 24);
}

export function purchaseResultOf(e: EntryDoc): PurchaseResult {
  const p = e.purchase;
  if (!p) throw new Error(`entry ${e._id} is not a purchase`);
  return { purchaseId: purchaseIdOf(e._id), cardNumber: e.card, accrued: p.accrued, redeemed: p.redeemPoints, balance: e.result.balanceAfter, level: e.result.levelTo };
}

/**
 * Till operations. A receipt is ONE ledger entry (a redemption line, then an accrual line)
 * written in one card transition: it happens whole or not at all, and its id (store +
 * receipt id) makes a retry return the first result. Refunds are refund.service.ts.
 */
export function createPurchaseService(deps: {
  ledger: Ledger;
  cards: CardService;
  members: MemberService;
  settings: () => Promise<ProgrammeSettings>;
  /** The terms of a store's partner (cached in memory: no command of its own per purchase). */
  partners: Pick<PartnerService, 'terms'>;
}) {
  async function cardFor(input: { cardNumber?: string | undefined; phone?: string | undefined }, opts: { allowInactive?: boolean } = {}): Promise<CardDoc> {
    if (input.cardNumber) return deps.cards.resolve(input.cardNumber, opts);
    if (input.phone) {
      const m = await deps.members.findByPhone(input.phone);
      if (!m?.cardNumber) throw new DomainError('card_not_found', 'no member with this phone');
      return deps.cards.resolve(m.cardNumber, opts);
    }
    throw new DomainError('validation_failed', 'cardNumber or phone is required');
  }

  function validateAmounts(input: Omit<PurchaseInput, 'receiptId'>): void {
    positiveInt(input.totalKopecks, 'total');
    if (input.totalKopecks > MAX_RECEIPT_KOPECKS) throw new DomainError('validation_failed', `total must be at most ${MAX_RECEIPT_KOPECKS} kopecks`, { field: 'total', max: MAX_RECEIPT_KOPECKS });
    positiveInt(input.discountKopecks ?? 0, 'discount');
    positiveInt(input.redeemPoints ?? 0, 'redeemPoints');
  }

  function quoteFor(card: CardDoc, input: Omit<PurchaseInput, 'receiptId'>, settings: ProgrammeSettings, partner: PartnerTerms | null): Quote & { partnerId: string | null; redeemCapBp: number } {
    const level = levelFor(settings, card.spentKopecks, card.manualLevelId);
    // Rule: accrual is a percentage of the receipt after redeemed points and other discounts,
    // at the level the member has when the purchase is recorded; a partner's store runs on
    // its partner's percent and cap (partner.terms.ts).
    const terms = termsFor(settings, level, partner);
    const q = quotePurchase({
      settings,
      percentBp: terms.percentBp,
      redeemCapBp: terms.redeemCapBp,
      totalKopecks: input.totalKopecks,
      discountKopecks: input.discountKopecks ?? 0,
      redeemPoints: input.redeemPoints ?? 0,
      balance: card.balance,
    });
    return { cardNumber: card._id, balance: card.balance, level: level.id, percentBp: terms.percentBp, partnerId: terms.partnerId, redeemCapBp: terms.redeemCapBp, ...q };
  }

  const refunds = createRefundService({ ledger: deps.ledger });

  return {
    async init(): Promise<void> {
      // Receipts and refunds live in the ledger: nothing of their own to index.
    },

    /** A refund of (part of) a receipt: see refund.service.ts. */
    refund: (input: RefundInput) => refunds.refund(input),

    /** What a purchase would accrue and the most it may redeem; changes nothing. */
    async quote(input: Omit<PurchaseInput, 'receiptId'>): Promise<Quote> {
      validateAmounts(input);
      const card = await cardFor(input);
      const settings = await deps.settings();
      const partner = await deps.partners.terms(input.partnerId);
      const q = quoteFor(card, { ...input, redeemPoints: 0 }, settings, partner);
      const w = (input.redeemPoints ?? 0) > 0 ? quoteFor(card, input, settings, partner) : q;
      return {
        cardNumber: w.cardNumber,
        balance: w.balance,
        level: w.level,
        percentBp: w.percentBp,
        baseKopecks: w.baseKopecks,
        accrued: w.accrued,
        maxRedeem: maxRedeemPoints(settings, input.totalKopecks, input.discountKopecks ?? 0, card.balance, q.redeemCapBp),
      };
    },

    /** Records a receipt once per store and receipt id. `replayed` when it was already recorded. */
    async purchase(input: PurchaseInput): Promise<{ result: PurchaseResult; replayed: boolean }> {
      if (!input.receiptId || input.receiptId.length > 128) throw new DomainError('validation_failed', 'receiptId must be 1–128 characters');
      validateAmounts(input);
      const key = purchaseKey(input.storeId, input.receiptId);
      const partner = await deps.partners.terms(input.partnerId);
      // The card's queue: by the number typed (a linked plastic number queues apart from the
      // card's own number; the unique slot keeps the two safe, see docs/ledger.md).
      const parsed = input.cardNumber ? parseCardNumber(input.cardNumber) : null;
      const queueKey = parsed?.ok ? parsed.number : `phone:${input.phone ?? ''}`;
      // The request's fingerprint: the same receipt id with another body is an idempotency conflict.
      const hashFor = (card: string): string => hashOf({ card, total: input.totalKopecks, discount: input.discountKopecks ?? 0, redeem: input.redeemPoints ?? 0, items: input.items ?? [] });
      const { entry, replayed } = await deps.ledger.transact(
        {
          key,
          // A recorded receipt answers with its result even if the card was blocked since: the
          // ledger checks for a recorded entry before it passes a refusal on.
          load: () => cardFor(input, { allowInactive: true }),
          build: (c, settings) => {
            const q = quoteFor(c, input, settings, partner);
            const redeem = input.redeemPoints ?? 0;
            const lines: LineRequest[] = [];
            if (redeem > 0) lines.push({ kind: 'redemption', effect: 'debit', points: redeem });
            lines.push({ kind: 'accrual', effect: 'credit', points: q.accrued });
            return {
              key,
              card: c._id,
              type: 'purchase',
              lines,
              // Rule: spend counted for levels is the receipt after discounts.
              spendDeltaKopecks: input.totalKopecks - (input.discountKopecks ?? 0),
              ref: { storeId: input.storeId, receiptId: input.receiptId, ...(c.memberId ? { memberId: c.memberId } : {}), ...(q.partnerId ? { partnerId: q.partnerId } : {}) },
              purchase: {
                storeId: input.storeId,
                receiptId: input.receiptId,
                bodyHash: hashFor(c._id),
                totalKopecks: input.totalKopecks,
                discountKopecks: input.discountKopecks ?? 0,
                redeemPoints: redeem,
                accrued: q.accrued,
                levelId: q.level,
                percentBp: q.percentBp,
                settingsVersion: settings.version,
                baseKopecks: q.baseKopecks,
                items: input.items ?? [],
                partnerId: q.partnerId,
                redeemCapBp: q.redeemCapBp,
              },
            };
          },
          same: (e, c) => e.purchase?.bodyHash === hashFor(c._id),
        },
        queueKey,
      );
      return { result: purchaseResultOf(entry), replayed };
    },

    /** The recorded receipt, if any. */
    async byReceipt(storeId: string, receiptId: string): Promise<EntryDoc | null> {
      return deps.ledger.findByKey(purchaseKey(storeId, receiptId));
    },
  };
}
