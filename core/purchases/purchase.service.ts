import { createHash } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import type { CardDoc } from '../cards/card.model.js';
import type { CardService } from '../cards/card.service.js';
import type { Ledger } from '../ledger/ledger.service.js';
import type { MemberService } from '../members/member.service.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { levelFor, maxRedeemPoints, quotePurchase, refundShares } from '../programme/rules.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import { purchaseModels, type PurchaseDoc, type PurchaseResult, type RefundDoc, type RefundResult } from './purchase.model.js';

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

export interface RefundInput {
  storeId: string;
  refundId: string;
  receiptId: string;
  amountKopecks: number;
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

function positiveInt(n: number, name: string, allowZero = true): void {
  if (!Number.isSafeInteger(n) || n < 0 || (!allowZero && n === 0)) {
    throw new DomainError('validation_failed', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer (kopecks/points)`);
  }
}

/**
 * Till operations. A purchase is: claim the receipt (unique key) → redeem → accrue → done;
 * a refund: claim the refund id → reserve its share on the purchase → claw back → return →
 * done. Every step is idempotent, so a retried request or the recovery pass finishes a
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
  const { Purchases, Refunds } = purchaseModels(deps.conn);
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

  async function quoteFor(card: CardDoc, input: PurchaseInput, settings: ProgrammeSettings): Promise<Quote> {
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

  async function completeRefund(r: RefundDoc, p: PurchaseDoc, refundId: string): Promise<RefundResult> {
    if (r.status === 'done' && r.result) return r.result;
    // Reserve this refund's share on the purchase (once: guarded by version and refund id).
    let rec = p.refunds.find((x) => x.refundId === refundId);
    let purchase = p;
    while (!rec) {
      const shares = refundShares({
        totalKopecks: purchase.totalKopecks - purchase.discountKopecks,
        accrued: purchase.accrued,
        redeemed: purchase.redeemPoints,
        refundedKopecksBefore: purchase.refundedKopecks,
        amountKopecks: r.amountKopecks,
        clawedBefore: purchase.clawedBack,
        returnedBefore: purchase.returned,
      });
      const candidate = { refundId, amountKopecks: r.amountKopecks, clawback: shares.clawback, returned: shares.returned };
      const u = await Purchases.updateOne(
        { _id: purchase._id, version: purchase.version },
        { $push: { refunds: candidate }, $inc: { version: 1, refundedKopecks: r.amountKopecks, clawedBack: shares.clawback, returned: shares.returned } },
      );
      if (u.modifiedCount === 1) rec = candidate;
      else {
        const again = await Purchases.findById(purchase._id).lean<PurchaseDoc>();
        if (!again) throw new DomainError('purchase_not_found', 'purchase vanished');
        purchase = again;
        rec = purchase.refunds.find((x) => x.refundId === refundId);
      }
    }
    const key = `refund:${r._id}`;
    const ref = { storeId: p.storeId, purchaseId: String(p._id), receiptId: p.receiptId, refundId, ...(p.memberId ? { memberId: p.memberId } : {}) };
    // Rule: points earned on returned goods are taken back (the balance never goes below zero,
    // the rest is owed), spend drops by the refund (level recalculated); spent points come back.
    const claw = await deps.ledger.apply({
      key: `${key}:clawback`,
      card: p.card,
      type: 'refund_clawback',
      effect: 'clawback',
      points: rec.clawback,
      spendDeltaKopecks: -rec.amountKopecks,
      ref,
    });
    let balance = claw.balanceAfter;
    if (rec.returned > 0) {
      const ret = await deps.ledger.apply({ key: `${key}:return`, card: p.card, type: 'refund_return', effect: 'credit', points: rec.returned, ref });
      balance = ret.balanceAfter;
    }
    const result: RefundResult = { refundId, clawedBack: -claw.amount, returned: rec.returned, balance, shortfall: claw.shortfall };
    await Refunds.updateOne({ _id: r._id, status: 'pending' }, { $set: { status: 'done', result } });
    return result;
  }

  return {
    async init(): Promise<void> {
      await Promise.all([Purchases.createIndexes(), Refunds.createIndexes()]);
    },

    /** What a purchase would accrue and the most it may redeem; changes nothing. */
    async quote(input: Omit<PurchaseInput, 'receiptId'>): Promise<Quote> {
      validateAmounts(input);
      const card = await cardFor(input);
      const settings = await deps.settings();
      const q = await quoteFor(card, { ...input, receiptId: '', redeemPoints: 0 }, settings);
      const withRedeem = (input.redeemPoints ?? 0) > 0 ? await quoteFor(card, { ...input, receiptId: '' }, settings) : q;
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

    async refund(input: RefundInput): Promise<{ result: RefundResult; replayed: boolean }> {
      if (!input.refundId || input.refundId.length > 128) throw new DomainError('validation_failed', 'refundId must be 1–128 characters');
      positiveInt(input.amountKopecks, 'amount', false);
      const purchaseKey = `${input.storeId}:${input.receiptId}`;
      const _id = `${input.storeId}:${input.refundId}`;
      const bodyHash = hashOf({ receipt: input.receiptId, amount: input.amountKopecks });
      const purchase = await Purchases.findOne({ key: purchaseKey }).lean<PurchaseDoc>();
      if (!purchase) throw new DomainError('purchase_not_found', 'no purchase with this receiptId');
      const p = purchase.status === 'done' ? purchase : ((await Purchases.findById(purchase._id).lean<PurchaseDoc>()) ?? purchase);
      if (p.status !== 'done') await completePurchase(p);
      let claim = await Refunds.findById(_id).lean<RefundDoc>();
      let replayed = true;
      if (!claim) {
        // Check the amount before claiming, so a refused refund leaves nothing behind.
        refundShares({
          totalKopecks: p.totalKopecks - p.discountKopecks,
          accrued: p.accrued,
          redeemed: p.redeemPoints,
          refundedKopecksBefore: p.refundedKopecks,
          amountKopecks: input.amountKopecks,
          clawedBefore: p.clawedBack,
          returnedBefore: p.returned,
        });
        const doc: RefundDoc = { _id, purchaseKey, bodyHash, amountKopecks: input.amountKopecks, status: 'pending', result: null, createdAt: clock.now() };
        try {
          await insertRaw(Refunds, doc);
          claim = doc;
          replayed = false;
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          claim = await Refunds.findById(_id).lean<RefundDoc>();
          if (!claim) throw err;
        }
      }
      if (claim.bodyHash !== bodyHash || claim.purchaseKey !== purchaseKey) {
        throw new DomainError('idempotency_conflict', 'this refundId was already used with other data');
      }
      const fresh = (await Purchases.findById(p._id).lean<PurchaseDoc>()) ?? p;
      try {
        return { result: await completeRefund(claim, fresh, input.refundId), replayed };
      } catch (err) {
        // Refused before anything moved (another refund took the rest of the receipt).
        if (err instanceof DomainError && err.code === 'refund_exceeds_receipt') await Refunds.deleteOne({ _id, status: 'pending' });
        throw err;
      }
    },

    async byReceipt(storeId: string, receiptId: string): Promise<PurchaseDoc | null> {
      return Purchases.findOne({ key: `${storeId}:${receiptId}` }).lean<PurchaseDoc>();
    },

    /** Finishes purchases and refunds left half-done by a crash (older than `olderThanMs`). */
    async recover(olderThanMs = 30_000): Promise<{ purchases: number; refunds: number }> {
      const cutoff = new Date(clock.now().getTime() - olderThanMs);
      let purchases = 0;
      let refunds = 0;
      for (const p of await Purchases.find({ status: 'pending', createdAt: { $lte: cutoff } }).limit(500).lean<PurchaseDoc[]>()) {
        await completePurchase(p).catch((err: unknown) => {
          if (!(err instanceof DomainError)) throw err;
        });
        purchases++;
      }
      for (const r of await Refunds.find({ status: 'pending', createdAt: { $lte: cutoff } }).limit(500).lean<RefundDoc[]>()) {
        const p = await Purchases.findOne({ key: r.purchaseKey }).lean<PurchaseDoc>();
        if (!p) continue;
        const refundId = r._id.slice(p.storeId.length + 1);
        await completeRefund(r, p, refundId).catch(async (err: unknown) => {
          if (!(err instanceof DomainError)) throw err;
          if (err.code === 'refund_exceeds_receipt') await Refunds.deleteOne({ _id: r._id, status: 'pending' });
        });
        refunds++;
      }
      return { purchases, refunds };
    },
  };
}
export type PurchaseService = ReturnType<typeof createPurchaseService>;
