import type { Connection } from 'mongoose';
import { cardModel, type CardDoc } from '../cards/card.model.js';
import { levelFor } from '../programme/rules.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';

/** What an import says a customer did before the programme: added to the card's own counters. */
export interface ImportedCounters {
  purchases: number;
  spentKopecks: number;
  lastPurchaseAt: Date | null;
}

/** The card as this module reads it: the ledger's document plus the counters of the ledger rewrite. */
export type CountedCard = CardDoc & { purchases?: number; lastPurchaseAt?: Date | null; expiredTotal?: number; importedCounters?: ImportedCounters };

const ZERO: ImportedCounters = { purchases: 0, spentKopecks: 0, lastPurchaseAt: null };
const same = (a: ImportedCounters, b: ImportedCounters): boolean =>
  a.purchases === b.purchases && a.spentKopecks === b.spentKopecks && (a.lastPurchaseAt?.getTime() ?? null) === (b.lastPurchaseAt?.getTime() ?? null);

/**
 * THE seam between the import and the card's cumulative counters (purchases, spentKopecks,
 * lastPurchaseAt): the only place the import writes them. It adds the difference between
 * these imported values and the ones imported before (kept on the card as
 * `importedCounters`), so a re-run adds nothing and a corrected file adds only the
 * correction, whatever the card did meanwhile. Guarded by the card's version like every
 * card transition; spend moves the level, as a purchase would.
 *
 * For the merge: the ledger's card model should offer this as one atomic transition
 * (`version` + 1, a `seq` for the counters snapshot); swap the body, keep the signature.
 */
export async function writeImportedCounters(
  deps: { conn: Connection; clock: Clock },
  cardNumber: string,
  next: ImportedCounters,
  settings: ProgrammeSettings,
): Promise<CountedCard> {
  const Cards = cardModel(deps.conn).collection;
  for (let attempt = 0; attempt < 20; attempt++) {
    const card = (await Cards.findOne({ _id: cardNumber as never })) as unknown as CountedCard | null;
    if (!card) throw new DomainError('card_not_found', `card ${cardNumber} not found`);
    const prev = card.importedCounters ?? ZERO;
    if (same(prev, next)) return card;
    const spentKopecks = card.spentKopecks + next.spentKopecks - prev.spentKopecks;
    const purchases = (card.purchases ?? 0) + next.purchases - prev.purchases;
    // The last purchase the import gave is replaced; a later one of the card's own stays.
    const own = card.lastPurchaseAt && (!prev.lastPurchaseAt || card.lastPurchaseAt.getTime() !== prev.lastPurchaseAt.getTime()) ? card.lastPurchaseAt : null;
    const lastPurchaseAt = own && next.lastPurchaseAt ? (own > next.lastPurchaseAt ? own : next.lastPurchaseAt) : (own ?? next.lastPurchaseAt);
    const levelId = levelFor(settings, spentKopecks, card.manualLevelId).id;
    const r = await Cards.updateOne(
      { _id: cardNumber as never, version: card.version },
      { $set: { spentKopecks, purchases, lastPurchaseAt, levelId, importedCounters: next, updatedAt: deps.clock.now() }, $inc: { version: 1 } },
    );
    if (r.modifiedCount === 1) return { ...card, spentKopecks, purchases, lastPurchaseAt, levelId, importedCounters: next, version: card.version + 1 };
  }
  throw new DomainError('concurrent_update', `card ${cardNumber} is too busy, retry`);
}

/**
 * New cards that start with the imported counters, in one insertMany: no issue-then-update
 * per card (on FerretDB v1 an update scans the whole cards collection, which at 100,000 cards
 * is what an import of a base would spend its time on). Same fields as CardService.issue;
 * returns the numbers that collided (drawn twice: the caller issues those one by one).
 */
export async function issueCardsWithCounters(
  deps: { conn: Connection; clock: Clock },
  input: { number: string; memberId: string; counters: ImportedCounters }[],
  settings: ProgrammeSettings,
): Promise<Set<string>> {
  if (input.length === 0) return new Set();
  const now = deps.clock.now();
  const docs: CountedCard[] = input.map((c) => ({
    _id: c.number,
    memberId: c.memberId,
    status: 'active',
    replacedBy: null,
    source: 'issued',
    balance: 0,
    debt: 0,
    spentKopecks: c.counters.spentKopecks,
    levelId: levelFor(settings, c.counters.spentKopecks, null).id,
    manualLevelId: null,
    lots: [],
    marks: [],
    earnedTotal: 0,
    spentPointsTotal: 0,
    version: 0,
    createdAt: now,
    updatedAt: now,
    purchases: c.counters.purchases,
    lastPurchaseAt: c.counters.lastPurchaseAt,
    importedCounters: c.counters,
  }));
  try {
    await cardModel(deps.conn).collection.insertMany(docs as never[], { ordered: false });
    return new Set();
  } catch (err) {
    const list = (err as { writeErrors?: { index: number; code?: number }[] }).writeErrors;
    if (!Array.isArray(list) || list.length === 0 || list.some((e) => e.code !== 11000)) throw err;
    return new Set(list.map((e) => docs[e.index]?._id ?? ''));
  }
}
