import { parseCardNumber } from '../cards/card-number.js';
import type { CardModel } from '../cards/card.model.js';
import type { CardService } from '../cards/card.service.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import type { WalletModels } from './wallet.model.js';
import type { OfferTarget } from './wallet.types.js';

export const OFFER_MAX_LENGTH = 500;
const BATCH = 1000;

/**
 * Mirroring bot messages on passes: the offer text goes to the back of each targeted pass
 * (the field has changeMessage "%@", so the text itself is the lock-screen notification)
 * and stays there until the next offer replaces it. Only passes that exist are touched
 * (a member who never added the card to Wallet has nothing to update); they are marked
 * dirty, so the wallet worker refreshes and pushes them at the bounded bulk rate.
 */
export function createOfferService(deps: { Cards: CardModel; models: WalletModels; cards: CardService; clock: Clock }) {
  const { Passes } = deps.models;
  const { Cards } = deps;

  async function mark(filter: Record<string, unknown>, offer: { text: string; at: Date }): Promise<number> {
    const r = await Passes.updateMany(filter, { $set: { offer, dirty: true, dirtyAt: offer.at } });
    return r.matchedCount;
  }

  async function markSerials(serials: string[], offer: { text: string; at: Date }): Promise<number> {
    let n = 0;
    for (let i = 0; i < serials.length; i += BATCH) n += await mark({ _id: { $in: serials.slice(i, i + BATCH) } }, offer);
    return n;
  }

  return {
    /** Sets the offer on the target's passes; returns how many passes will be updated and the numbers it could not read. */
    async setOffer(target: OfferTarget, text: string): Promise<{ passes: number; invalid: string[] }> {
      const clean = text.trim();
      if (clean.length === 0 || clean.length > OFFER_MAX_LENGTH) {
        throw new DomainError('validation_failed', `the offer must be 1–${OFFER_MAX_LENGTH} characters`);
      }
      const offer = { text: clean, at: deps.clock.now() };
      switch (target.kind) {
        case 'all':
          return { passes: await mark({}, offer), invalid: [] };
        case 'card': {
          const card = await deps.cards.resolve(target.number, { allowInactive: true });
          return { passes: await mark({ _id: card._id }, offer), invalid: [] };
        }
        case 'cards': {
          const invalid: string[] = [];
          const serials: string[] = [];
          for (const raw of target.numbers) {
            const n = parseCardNumber(raw);
            if (n.ok) serials.push(n.number);
            else invalid.push(raw);
          }
          return { passes: await markSerials([...new Set(serials)], offer), invalid };
        }
        case 'level': {
          // The segment is the card's level now (cards.levelId), not the one a pass last showed.
          let n = 0;
          let batch: string[] = [];
          for await (const c of Cards.find({ levelId: target.levelId }, { _id: 1 }).lean().cursor()) {
            batch.push(c._id);
            if (batch.length === BATCH) {
              n += await markSerials(batch, offer);
              batch = [];
            }
          }
          return { passes: n + (await markSerials(batch, offer)), invalid: [] };
        }
      }
    },
  };
}
