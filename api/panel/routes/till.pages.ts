import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../core/shared/errors.js';
import type { Store } from '../../../core/stores/store.repository.js';
import type { TillCard } from '../../../core/till/web-till.service.js';
import { userOf, type FieldErrors } from '../panel.context.js';
import type { PanelContext } from '../panel.types.js';

type Form = Record<string, string | undefined>;
const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/** "1 234,50" / "1234.5" / "1234" rubles → kopecks; null when it is not an amount. */
export function kopecksOf(text: string): number | null {
  const m = /^(\d{1,7})(?:[.,](\d{1,2}))?$/.exec(text.replace(/[\s\u00a0]/g, ''));
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/**
 * The web till ("Касса"): find a card by number, phone or name, then accrue for a receipt,
 * redeem and accrue, or refund a receipt of this store. Every operation is core.webTill (the
 * till API's services); a receipt id made when the form was drawn makes a double click or a
 * reload the same receipt. Each change is in the audit log under the cashier's name.
 */
export function tillPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;
  const till = core.webTill;

  async function page(req: FastifyRequest, reply: FastifyReply, store: Store | null, extra: { card?: string; q?: string; result?: Record<string, unknown>; errors?: FieldErrors; values?: Form } = {}, status = 200) {
    const user = userOf(req);
    let card: TillCard | null = null;
    let cardError: string | null = null;
    if (store && extra.card) {
      try {
        card = await till.card(store, extra.card);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        cardError = err.code;
      }
    }
    const results = store && extra.q ? await till.find(extra.q) : null;
    return render(
      req,
      reply,
      'till',
      {
        title: 'till:title',
        store,
        stores: user.role === 'cashier' ? [] : await till.stores(),
        q: extra.q ?? '',
        results,
        card,
        cardError,
        receiptId: till.newReceiptId(),
        refundId: till.newReceiptId(),
        result: extra.result ?? null,
        errors: extra.errors ?? {},
        values: extra.values ?? {},
      },
      status,
    );
  }

  return async (app) => {
    app.get<{ Querystring: { store?: string; q?: string; card?: string } }>('/till', { preHandler: ctx.guard('till.operate') }, async (req, reply) => {
      const store = await till.storeFor(userOf(req), str(req.query.store) || undefined);
      return page(req, reply, store, { q: str(req.query.q), card: str(req.query.card) });
    });

    app.post<{ Body: Form }>('/till/purchase', { preHandler: ctx.guard('till.operate') }, async (req, reply) => {
      const b = req.body;
      const store = await till.storeFor(userOf(req), str(b.store) || undefined);
      if (!store) throw new DomainError('store_required', 'choose a store first');
      const values = { total: str(b.total), discount: str(b.discount), redeem: str(b.redeem) };
      const card = str(b.card);
      const receiptId = str(b.receiptId);
      const errors: FieldErrors = {};
      const total = kopecksOf(values.total);
      const discount = values.discount ? kopecksOf(values.discount) : 0;
      const redeem = values.redeem ? (/^\d{1,9}$/.test(values.redeem) ? Number(values.redeem) : null) : 0;
      if (total === null || total === 0) errors.total = 'amount_invalid';
      if (discount === null || (total !== null && discount > total)) errors.discount = 'amount_invalid';
      if (redeem === null) errors.redeem = 'points_invalid';
      if (!/^W[A-Z0-9]{10}$/.test(receiptId)) errors.total = 'form_stale';
      if (Object.keys(errors).length > 0 || total === null || discount === null || redeem === null) return page(req, reply, store, { card, errors, values }, 400);
      try {
        const before = await till.card(store, card);
        const { result, replayed } = await till.purchase(store, { receiptId, cardNumber: card, totalKopecks: total, discountKopecks: discount, redeemPoints: redeem });
        if (!replayed) {
          await ctx.audit(req, { action: 'till.purchase', target: result.cardNumber, before: { balance: before.balance }, after: { store: store.id, receiptId, total, discount, redeemed: result.redeemed, accrued: result.accrued, balance: result.balance } });
        }
        return await page(req, reply, store, { card: result.cardNumber, result: { kind: 'purchase', receiptId, replayed, ...result } }, replayed ? 200 : 201);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        const field = err.code === 'insufficient_points' || err.code === 'redeem_limit_exceeded' ? 'redeem' : 'total';
        return page(req, reply, store, { card, errors: { [field]: err.code }, values }, 422);
      }
    });

    app.post<{ Body: Form }>('/till/refund', { preHandler: ctx.guard('till.operate') }, async (req, reply) => {
      const b = req.body;
      const store = await till.storeFor(userOf(req), str(b.store) || undefined);
      if (!store) throw new DomainError('store_required', 'choose a store first');
      const values = { refundReceipt: str(b.refundReceipt), amount: str(b.amount) };
      const card = str(b.card);
      const refundId = str(b.refundId);
      const amount = kopecksOf(values.amount);
      const errors: FieldErrors = {};
      if (!values.refundReceipt || values.refundReceipt.length > 128) errors.refundReceipt = 'receipt_required';
      if (amount === null || amount === 0) errors.amount = 'amount_invalid';
      if (!/^W[A-Z0-9]{10}$/.test(refundId)) errors.amount = 'form_stale';
      if (Object.keys(errors).length > 0 || amount === null) return page(req, reply, store, { card, errors, values }, 400);
      try {
        const { result, replayed } = await till.refund(store, { refundId, receiptId: values.refundReceipt, amountKopecks: amount });
        if (!replayed) await ctx.audit(req, { action: 'till.refund', target: values.refundReceipt, after: { store: store.id, refundId, amount, clawedBack: result.clawedBack, returned: result.returned, balance: result.balance } });
        return await page(req, reply, store, { card, result: { kind: 'refund', receiptId: values.refundReceipt, replayed, ...result } }, replayed ? 200 : 201);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return page(req, reply, store, { card, errors: { [err.code === 'purchase_not_found' ? 'refundReceipt' : 'amount']: err.code }, values }, 422);
      }
    });
  };
}
