import { Types, type Connection } from 'mongoose';
import type { CardDoc } from '../cards/card.model.js';
import type { CardService } from '../cards/card.service.js';
import type { Ledger } from '../ledger/ledger.service.js';
import type { MemberService } from '../members/member.service.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { levelFor, maxRedeemPoints, quotePurchase } from '../programme/rules.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import { hashOf, positiveInt } from './purchase.input.js';
import { purchaseModels, type PurchaseDoc, type PurchaseResult } from './purchase.model.js';
import { createRefundService, type RefundInput } from './refund.service.js';

export type { RefundInput };

export interface PurchaseInput {
  storeId: string;
  receiptId: string;
  cardNumber?: string;
  phone?: string;
  totalKopecks: number;
  discountKopecks?: number;
  redeemPoints?: number;
  items?: unknown[];
}

export interface Quote {
  cardNumber: string;
  balance: number;
  level: string;
  percentBp: number;
  baseKopecks: number;
  accrued: number;
  maxRedeem: number;
}

/**
 * Till operations. A purchase is: claim the receipt (unique key) → redeem → accrue → done;
 * refunds are refund.service.ts. Every step is idempotent, so a retried request or the recovery pass finishes a
 * half-done operation exactly once.
 */
export function createPurchaseService(deps: {
  conn: Connection;
  ledger: Ledger;
  cards: CardService;
  members: MemberService;
  settings: () => Promise<ProgrammeSettings>;
  clock?: Clock;
}) {
  const { Purchases } = purchaseModels(deps.conn);
  const clock = deps.clock ?? systemClock;

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
    positiveInt(input.discountKopecks ?? 0, 'discount');
    positiveInt(input.redeemPoints ?? 0, 'redeemPoints');
  }

  function validate(input: PurchaseInput): void {
    if (!input.receiptId || input.receiptId.length > 128) throw new DomainError('validation_failed', 'receiptId must be 1–128 characters');
    validateAmounts(input);
  }

  async function quoteFor(card: CardDoc, input: Omit<PurchaseInput, 'receiptId'>, settings: ProgrammeSettings): Promise<Quote> {
    const level = levelFor(settings, card.spentKopecks, card.manualLevelId);
    // Rule: accrual is a percentage of the receipt after redeemed points and other discounts,
    // at the level the member had when the purchase started.
    const q = quotePurchase({
      settings,
      percentBp: level.percentBp,
      totalKopecks: input.totalKopecks,
      discountKopecks: input.discountKopecks ?? 0,
      redeemPoints: input.redeemPoints ?? 0,
      balance: card.balance,
    });
    return { cardNumber: card._id, balance: card.balance, level: level.id, percentBp: level.percentBp, ...q };
  }

  async function completePurchase(p: PurchaseDoc): Promise<PurchaseResult> {
    if (p.status === 'done' && p.result) return p.result;
    const id = String(p._id);
    const ref = { storeId: p.storeId, purchaseId: id, receiptId: p.receiptId, ...(p.memberId ? { memberId: p.memberId } : {}) };
    let balance: number | undefined;
    let level = p.levelId;
    if (p.redeemPoints > 0) {
      try {
        const r = await deps.ledger.apply({ key: `purchase:${id}:redeem`, card: p.card, type: 'redemption', effect: 'debit', points: p.redeemPoints, ref });
        balance = r.balanceAfter;
      } catch (err) {
        // Nothing was applied: forget the claim so the receipt can be sent again.
        if (err instanceof DomainError) await Purchases.deleteOne({ _id: p._id, status: 'pending' });
        throw err;
      }
    }
    // Rule: spend counted for levels is the receipt after discounts.
    const acc = await deps.ledger.apply({
      key: `purchase:${id}:accrue`,
      card: p.card,
      type: 'accrual',
      effect: 'credit',
      points: p.accrued,
      spendDeltaKopecks: p.totalKopecks - p.discountKopecks,
      ref,
    });
    balance = acc.balanceAfter;
    level = acc.levelTo;
    const result: PurchaseResult = { purchaseId: id, cardNumber: p.card, accrued: p.accrued, redeemed: p.redeemPoints, balance, level };
    await Purchases.updateOne({ _id: p._id, status: 'pending' }, { $set: { status: 'done', result, completedAt: clock.now() } });
    return result;
  }

  const refundService = createRefundService({ conn: deps.conn, ledger: deps.ledger, clock, completePurchase });

  return {
    async init(): Promise<void> {
      await Promise.all([Purchases.createIndexes(), refundService.init()]);
    },

    /** A refund of (part of) a receipt: see refund.service.ts. */
    refund: (input: RefundInput) => refundService.refund(input),

    /** What a purchase would accrue and the most it may redeem; changes nothing. */
    async quote(input: Omit<PurchaseInput, 'receiptId'>): Promise<Quote> {
      validateAmounts(input);
      const card = await cardFor(input);
      const settings = await deps.settings();
      const q = await quoteFor(card, { ...input, redeemPoints: 0 }, settings);
      const withRedeem = (input.redeemPoints ?? 0) > 0 ? await quoteFor(card, input, settings) : q;
      return { ...withRedeem, maxRedeem: maxRedeemPoints(settings, input.totalKopecks, input.discountKopecks ?? 0, card.balance) };
    },

    /** Records a receipt once per store and receipt id. `replayed` when it was already recorded. */
    async purchase(input: PurchaseInput): Promise<{ result: PurchaseResult; replayed: boolean }> {
      validate(input);
      const key = `${input.storeId}:${input.receiptId}`;
      // A recorded receipt answers with its result even if the card was blocked since.
      const existing = await Purchases.findOne({ key }).lean<PurchaseDoc>();
      const card = existing ? await cardFor(input, { allowInactive: true }) : await cardFor(input);
      const bodyHash = hashOf({
        card: card._id,
        total: input.totalKopecks,
        discount: input.discountKopecks ?? 0,
        redeem: input.redeemPoints ?? 0,
        items: input.items ?? [],
      });
      if (existing) {
        if (existing.bodyHash !== bodyHash) throw new DomainError('idempotency_conflict', 'this receipt was already recorded with other data');
        return { result: await completePurchase(existing), replayed: true };
      }
      const settings = await deps.settings();
      const q = await quoteFor(card, input, settings);
      const doc: PurchaseDoc = {
        _id: new Types.ObjectId(),
        key,
        storeId: input.storeId,
        receiptId: input.receiptId,
        bodyHash,
        card: card._id,
        memberId: card.memberId,
        totalKopecks: input.totalKopecks,
        discountKopecks: input.discountKopecks ?? 0,
        redeemPoints: input.redeemPoints ?? 0,
        items: input.items ?? [],
        levelId: q.level,
        percentBp: q.percentBp,
        settingsVersion: settings.version,
        baseKopecks: q.baseKopecks,
        accrued: q.accrued,
        status: 'pending',
        result: null,
        refundedKopecks: 0,
        clawedBack: 0,
        returned: 0,
        refunds: [],
        version: 0,
        createdAt: clock.now(),
        completedAt: null,
      };
      try {
        await insertRaw(Purchases, doc);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // A concurrent identical request claimed it first: finish (or wait for) that one.
        const other = await Purchases.findOne({ key }).lean<PurchaseDoc>();
        if (!other) throw err;
        if (other.bodyHash !== bodyHash) throw new DomainError('idempotency_conflict', 'this receipt was already recorded with other data');
        return { result: await completePurchase(other), replayed: true };
      }
      return { result: await completePurchase(doc), replayed: false };
    },

    async byReceipt(storeId: string, receiptId: string): Promise<PurchaseDoc | null> {
      return Purchases.findOne({ key: `${storeId}:${receiptId}` }).lean<PurchaseDoc>();
    },

    /** Finishes purchases and refunds left half-done by a crash (older than `olderThanMs`). */
    async recover(olderThanMs = 30_000): Promise<{ purchases: number; refunds: number }> {
      const cutoff = new Date(clock.now().getTime() - olderThanMs);
      let purchases = 0;
      for (const p of await Purchases.find({ status: 'pending', createdAt: { $lte: cutoff } }).limit(500).lean<PurchaseDoc[]>()) {
        await completePurchase(p).catch((err: unknown) => {
          if (!(err instanceof DomainError)) throw err;
        });
        purchases++;
      }
      const refunds = await refundService.recover(cutoff);
      return { purchases, refunds };
    },
  };
}
export type PurchaseService = ReturnType<typeof createPurchaseService>;
