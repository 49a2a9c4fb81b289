import type { preHandlerAsyncHookHandler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Core } from '../../core/core.js';
import { storeOf } from '../plugins/auth.plugin.js';
import { percentOf } from '../../core/programme/rules.js';
import { errorResponses, TILL_SECURITY } from '../schemas/common.schema.js';
import { purchaseBody, purchaseResult, quoteBody, quoteResult, refundBody, refundResult } from '../schemas/purchase.schema.js';

/** Set on a 200 that repeats the result of an operation recorded earlier. */
export const REPLAYED_HEADER = 'idempotent-replayed';

const cardErrors = ['invalid_card_number', 'card_not_found', 'card_blocked', 'card_replaced', 'phone_invalid'] as const;

/**
 * Till operations: quote, purchase, refund. Each calls one function of core.purchases. A quote
 * tells a card's balance like a look-up, so it counts against the look-up budget (`lookupLimit`).
 */
export function purchaseRoutes(deps: { core: Core; lookupLimit: preHandlerAsyncHookHandler }): FastifyPluginAsyncZod {
  const { core } = deps;
  return async (app) => {
    app.post(
      '/purchases/quote',
      {
        preHandler: deps.lookupLimit,
        schema: {
          tags: ['till'],
          summary: 'What a receipt would earn and the most points it may redeem; changes nothing',
          security: TILL_SECURITY,
          body: quoteBody,
          response: { 200: quoteResult, ...errorResponses(...cardErrors, 'insufficient_points', 'redeem_limit_exceeded', 'rate_limited') },
        },
      },
      async (req) => {
        const b = req.body;
        const store = storeOf(req);
        const q = await core.purchases.quote({
          storeId: store.id,
          partnerId: store.partnerId,
          cardNumber: b.cardNumber,
          phone: b.phone,
          totalKopecks: b.total,
          discountKopecks: b.discount,
          redeemPoints: b.redeemPoints,
        });
        return { accrued: q.accrued, maxRedeem: q.maxRedeem, balance: q.balance, level: q.level, percent: percentOf(q.percentBp) };
      },
    );

    app.post(
      '/purchases',
      {
        schema: {
          tags: ['till'],
          summary: 'Record a receipt: redeem points, accrue points',
          description:
            'Idempotent per store and receiptId: the same receiptId with the same body answers 200 with the first result ' +
            `(header \`${REPLAYED_HEADER}: true\`), with another body 409 idempotency_conflict. A refused purchase records nothing.`,
          security: TILL_SECURITY,
          body: purchaseBody,
          response: {
            201: purchaseResult.describe('Recorded now'),
            200: purchaseResult.describe('Recorded earlier with the same data: the first result'),
            ...errorResponses(...cardErrors, 'insufficient_points', 'redeem_limit_exceeded', 'idempotency_conflict'),
          },
        },
      },
      async (req, reply) => {
        const b = req.body;
        const store = storeOf(req);
        const { result, replayed } = await core.purchases.purchase({
          storeId: store.id,
          partnerId: store.partnerId,
          receiptId: b.receiptId,
          cardNumber: b.cardNumber,
          phone: b.phone,
          totalKopecks: b.total,
          discountKopecks: b.discount,
          redeemPoints: b.redeemPoints,
          items: b.items,
        });
        if (replayed) reply.header(REPLAYED_HEADER, 'true');
        return reply.code(replayed ? 200 : 201).send({
          purchaseId: result.purchaseId,
          accrued: result.accrued,
          redeemed: result.redeemed,
          balance: result.balance,
          level: result.level,
        });
      },
    );

    app.post(
      '/refunds',
      {
        schema: {
          tags: ['till'],
          summary: 'Refund (part of) a receipt: take back points earned on it, give back points spent on it',
          description:
            'Idempotent per store and refundId: a repeat answers 200 with the first result; the same refundId with other data 409 idempotency_conflict. ' +
            'Refunds of a receipt add up to at most its total minus discount (422 refund_exceeds_receipt).',
          security: TILL_SECURITY,
          body: refundBody,
          response: {
            201: refundResult.describe('Refunded now'),
            200: refundResult.describe('Refunded earlier: the first result'),
            ...errorResponses('purchase_not_found', 'refund_exceeds_receipt', 'idempotency_conflict'),
          },
        },
      },
      async (req, reply) => {
        const b = req.body;
        const storeId = storeOf(req).id;
        const { result, replayed } = await core.purchases.refund({ storeId, refundId: b.refundId, receiptId: b.receiptId, amountKopecks: b.amount });
        if (replayed) reply.header(REPLAYED_HEADER, 'true');
        return reply.code(replayed ? 200 : 201).send({ clawedBack: result.clawedBack, returned: result.returned, balance: result.balance, shortfall: result.shortfall });
      },
    );
  };
}
