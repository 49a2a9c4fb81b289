import type { EntryDoc } from '../ledger/entry.model.js';
import type { Ledger } from '../ledger/ledger.service.js';
import type { LineRequest } from '../ledger/ledger.types.js';
import { refundShares } from '../programme/rules.js';
import { DomainError } from '../shared/errors.js';
import { hashOf, positiveInt } from './purchase.input.js';
import { purchaseKey, refundKey, type RefundInput, type RefundResult } from './purchase.types.js';

export function refundResultOf(e: EntryDoc): RefundResult {
  const r = e.refund;
  if (!r) throw new Error(`entry ${e._id} is not a refund`);
  const claw = e.lines.find((l) => l.kind === 'clawback');
  return { refundId: r.refundId, clawedBack: -(claw?.amount ?? 0), returned: r.returned, balance: e.result.balanceAfter, shortfall: e.result.shortfall };
}

/**
 * Refunds: ONE ledger entry per refund (a clawback line, then a return line), in one card
 * transition that also adds the refund to what the receipt's refunds sum to (kept on the
 * card). The card's transitions are serialized, so two refunds of one receipt can never both
 * take the same remainder, and a retry with the same refund id returns the first result.
 */
export function createRefundService(deps: { ledger: Ledger }) {
  return {
    async refund(input: RefundInput): Promise<{ result: RefundResult; replayed: boolean }> {
      if (!input.refundId || input.refundId.length > 128) throw new DomainError('validation_failed', 'refundId must be 1–128 characters');
      positiveInt(input.amountKopecks, 'amount', false);
      const pKey = purchaseKey(input.storeId, input.receiptId);
      const key = refundKey(input.storeId, input.refundId);
      const bodyHash = hashOf({ receipt: input.receiptId, amount: input.amountKopecks });
      const purchase = await deps.ledger.findByKey(pKey);
      const p = purchase?.purchase;
      if (!purchase || !p) throw new DomainError('purchase_not_found', 'no purchase with this receiptId');
      const { entry, replayed } = await deps.ledger.transact(
        {
          key,
          load: async () => {
            const c = await deps.ledger.cardById(purchase.card);
            if (!c) throw new DomainError('card_not_found', 'the card of this receipt is gone');
            return c;
          },
          build: (card) => {
            const before = card.refunds.find((r) => r.purchaseKey === pKey);
            // The shares come from what the receipt recorded (its partner's terms then), never
            // from the terms of today.
            // Rule: points earned on returned goods are taken back (the balance never goes
            // below zero, the rest is owed), spend drops by the refund (level recalculated);
            // points spent on them come back.
            const shares = refundShares({
              totalKopecks: p.totalKopecks - p.discountKopecks,
              accrued: p.accrued,
              redeemed: p.redeemPoints,
              refundedKopecksBefore: before?.kopecks ?? 0,
              amountKopecks: input.amountKopecks,
              clawedBefore: before?.clawed ?? 0,
              returnedBefore: before?.returned ?? 0,
            });
            const lines: LineRequest[] = [{ kind: 'clawback', effect: 'clawback', points: shares.clawback }];
            if (shares.returned > 0) lines.push({ kind: 'return', effect: 'credit', points: shares.returned });
            return {
              key,
              card: card._id,
              type: 'refund',
              lines,
              spendDeltaKopecks: -input.amountKopecks,
              // The receipt's partner, as recorded: the refund counts against the same partner.
              ref: { storeId: input.storeId, receiptId: input.receiptId, refundId: input.refundId, ...(card.memberId ? { memberId: card.memberId } : {}), ...(p.partnerId ? { partnerId: p.partnerId } : {}) },
              refund: { storeId: input.storeId, refundId: input.refundId, receiptId: input.receiptId, purchaseKey: pKey, bodyHash, amountKopecks: input.amountKopecks, clawback: shares.clawback, returned: shares.returned },
              correction: true,
            };
          },
          same: (e) => e.refund?.bodyHash === bodyHash && e.refund.purchaseKey === pKey,
        },
        purchase.card,
      );
      return { result: refundResultOf(entry), replayed };
    },
  };
}
