import type { preHandlerAsyncHookHandler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Core } from '../../core/core.js';
import type { EntryDoc } from '../../core/ledger/entry.model.js';
import { DomainError } from '../../core/shared/errors.js';
import { langOf, presentCard } from '../presenters/card.presenter.js';
import { cardByPhoneQuery, cardView, historyPage, historyQuery } from '../schemas/card.schema.js';
import { cardNumberParams, errorResponses, TILL_SECURITY } from '../schemas/common.schema.js';

interface Cursor {
  at: Date;
  id: string;
}

/** Opaque to the caller: base64url of the last item's time and id (a keyset position). */
function encodeCursor(e: EntryDoc): string {
  return Buffer.from(JSON.stringify({ at: new Date(e.createdAt).toISOString(), id: e._id })).toString('base64url');
}

function decodeCursor(s: string): Cursor {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { at?: unknown; id?: unknown };
    const at = typeof v.at === 'string' ? new Date(v.at) : null;
    if (at && !Number.isNaN(at.getTime()) && typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 512) return { at, id: v.id };
  } catch {
    // falls through to the error below
  }
  throw new DomainError('validation_failed', 'cursor is not one this API returned');
}

/**
 * One page of applied movements, newest first, strictly after the cursor. ledger.history
 * pages by time only, so the cursor's millisecond is fetched again and the entries of it the
 * previous page already had (id ≥ the cursor's, in the history's order) are skipped: no item
 * is lost or repeated when several share a millisecond.
 */
async function historyAfter(core: Core, card: string, limit: number, cursor: Cursor | null): Promise<{ items: EntryDoc[]; more: boolean }> {
  const before = cursor ? new Date(cursor.at.getTime() + 1) : undefined;
  // Ids compared as MongoDB orders strings: by their UTF-8 bytes.
  const cursorId = cursor ? Buffer.from(cursor.id, 'utf8') : null;
  const seen = (e: EntryDoc): boolean =>
    cursor !== null && cursorId !== null && new Date(e.createdAt).getTime() === cursor.at.getTime() && Buffer.compare(Buffer.from(e._id, 'utf8'), cursorId) >= 0;
  let want = limit + 1;
  for (let round = 0; ; round++) {
    const rows = await core.ledger.history(card, want, before);
    let skip = 0;
    while (skip < rows.length && seen(rows[skip] as EntryDoc)) skip++;
    const page = rows.slice(skip);
    if (page.length > limit || rows.length < want || round >= 4) return { items: page.slice(0, limit), more: page.length > limit };
    want = skip + limit + 1;
  }
}

/**
 * Till look-ups: a card by number or by phone, and its history. `lookupLimit` (built in
 * app.ts) counts all three against one budget per store key.
 */
export function cardRoutes(deps: { core: Core; lookupLimit: preHandlerAsyncHookHandler }): FastifyPluginAsyncZod {
  const { core } = deps;
  return async (app) => {
    const preHandler = deps.lookupLimit;
    const lookupErrors = errorResponses('invalid_card_number', 'card_not_found', 'card_blocked', 'card_replaced', 'rate_limited');

    app.get(
      '/cards/:number',
      {
        preHandler,
        schema: {
          tags: ['till'],
          summary: 'Look a card up by number',
          security: TILL_SECURITY,
          params: cardNumberParams,
          response: { 200: cardView, ...lookupErrors },
        },
      },
      async (req) => presentCard(core, await core.cards.resolve(req.params.number), langOf(req)),
    );

    app.get(
      '/cards',
      {
        preHandler,
        schema: {
          tags: ['till'],
          summary: "Look a card up by the member's phone",
          security: TILL_SECURITY,
          querystring: cardByPhoneQuery,
          response: { 200: cardView, ...errorResponses('phone_invalid', 'card_not_found', 'card_blocked', 'card_replaced', 'rate_limited') },
        },
      },
      async (req) => {
        const member = await core.members.findByPhone(req.query.phone);
        if (!member?.cardNumber) throw new DomainError('card_not_found', 'no member with this phone');
        return presentCard(core, await core.cards.resolve(member.cardNumber), langOf(req));
      },
    );

    app.get(
      '/cards/:number/history',
      {
        preHandler,
        schema: {
          tags: ['till'],
          summary: 'Point movements of a card, newest first, paged by cursor',
          security: TILL_SECURITY,
          params: cardNumberParams,
          querystring: historyQuery,
          response: { 200: historyPage, ...lookupErrors },
        },
      },
      async (req) => {
        const card = await core.cards.resolve(req.params.number);
        const cursor = req.query.cursor ? decodeCursor(req.query.cursor) : null;
        const { items, more } = await historyAfter(core, card._id, req.query.limit, cursor);
        const last = items.at(-1);
        return {
          items: items.map((e) => ({
            id: e._id,
            type: e.type,
            amount: e.amount,
            balanceAfter: e.result?.balanceAfter ?? 0,
            at: new Date(e.createdAt).toISOString(),
            ...(e.ref.receiptId ? { receiptId: e.ref.receiptId } : {}),
          })),
          nextCursor: more && last ? encodeCursor(last) : null,
        };
      },
    );
  };
}
