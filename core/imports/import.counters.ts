import { newCardDoc, type CardDoc } from '../cards/card.model.js';
import type { Ledger } from '../ledger/ledger.service.js';
import type { ImportedCounters } from '../ledger/ledger.types.js';
import { levelFor } from '../programme/rules.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import type { ImportApplyRepository } from './import-apply.repository.js';

export type { ImportedCounters };

/** The card as this module reads it. */
export type CountedCard = CardDoc;

/**
 * THE seam between the import and the card's cumulative counters (purchases, spentKopecks,
 * lastPurchaseAt): a ledger transition of its own (`ledger.importCounters`), which moves them by
 * the difference from the totals imported before, so a re-run adds nothing and a corrected
 * file adds only the correction, whatever the card did meanwhile. Returns the card after it.
 */
export async function writeImportedCounters(
  deps: { ledger: Ledger; importId: string },
  cardNumber: string,
  next: ImportedCounters,
): Promise<CountedCard> {
  await deps.ledger.importCounters({ card: cardNumber, importId: deps.importId, totals: next });
  const card = await deps.ledger.cardById(cardNumber);
  if (!card) throw new DomainError('card_not_found', `card ${cardNumber} not found`);
  return card;
}

/**
 * New cards that open with the imported counters, in one insertMany: no issue-then-update per
 * card. Same fields as CardService.issue (core/cards/card.model.ts newCardDoc: an import's
 * counters are the card's opening state); returns the numbers that collided (drawn twice: the
 * caller issues those one by one).
 */
export async function issueCardsWithCounters(
  deps: { cards: Pick<ImportApplyRepository, 'insertCards'>; clock: Clock },
  input: { number: string; memberId: string; counters: ImportedCounters }[],
  settings: ProgrammeSettings,
): Promise<Set<string>> {
  if (input.length === 0) return new Set();
  const now = deps.clock.now();
  const docs: CardDoc[] = input.map((c) => openingCard(c, settings, now));
  const taken = await deps.cards.insertCards(docs);
  return new Set([...taken].map((i) => docs[i]?._id ?? ''));
}

/** A card issued by the import, opening with the base's counters. */
export function openingCard(c: { number: string; memberId: string; counters: ImportedCounters }, settings: ProgrammeSettings, now: Date): CardDoc {
  return newCardDoc(
    {
      _id: c.number,
      memberId: c.memberId,
      levelId: levelFor(settings, c.counters.spentKopecks, null).id,
      spentKopecks: c.counters.spentKopecks,
      purchases: c.counters.purchases,
      lastPurchaseAt: c.counters.lastPurchaseAt,
      importedCounters: c.counters,
    },
    now,
  );
}
