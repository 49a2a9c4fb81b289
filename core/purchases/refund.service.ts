import type { Connection } from 'mongoose';
import type { Ledger } from '../ledger/ledger.service.js';
import { refundShares } from '../programme/rules.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import { hashOf, positiveInt } from './purchase.input.js';
import { purchaseModels, type PurchaseDoc, type PurchaseResult, type RefundDoc, type RefundResult } from './purchase.model.js';

export interface RefundInput {
  storeId: string;
  refundId: string;
  receiptId: string;
  amountKopecks: number;
}

/**
 * Refunds: claim the refund id → reserve its share on the purchase (one version-guarded
 * update) → claw back → return → done. Every step finds its own earlier work, so the till's
 * retry or the recovery pass finishes a half-done refund exactly once.
 */
export function createRefundService(deps: {
  conn: Connection;
  ledger: Ledger;
  clock: Clock;
  /** Finishes a purchase still pending (a refund needs its accrual settled first). */
  completePurchase(p: PurchaseDoc): Promise<PurchaseResult>;
}) {
  const { Purchases, Refunds } = purchaseModels(deps.conn);
  const { clock, completePurchase } = deps;

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
      await Refunds.createIndexes();
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

    /** Finishes refunds a crash left pending since before `cutoff`; returns how many. */
    async recover(cutoff: Date): Promise<number> {
      let n = 0;
      for (const r of await Refunds.find({ status: 'pending', createdAt: { $lte: cutoff } }).limit(500).lean<RefundDoc[]>()) {
        const p = await Purchases.findOne({ key: r.purchaseKey }).lean<PurchaseDoc>();
        if (!p) continue;
        const refundId = r._id.slice(p.storeId.length + 1);
        await completeRefund(r, p, refundId).catch(async (err: unknown) => {
          if (!(err instanceof DomainError)) throw err;
          if (err.code === 'refund_exceeds_receipt') await Refunds.deleteOne({ _id: r._id, status: 'pending' });
        });
        n++;
      }
      return n;
    },
  };
}
