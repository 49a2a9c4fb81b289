import type { CardAliasModel } from '../members/member.model.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { levelFor, nextLevel } from '../programme/rules.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { generateCardNumber, parseCardNumber } from './card-number.js';
import { newCardDoc, type CardDoc, type CardModel } from './card.model.js';
import { insertRaw } from '../shared/mongo.js';

export interface CardView {
  number: string;
  memberId: string | null;
  status: CardDoc['status'];
  balance: number;
  debt: number;
  spentKopecks: number;
  level: { id: string; name: { ru: string; en: string }; percentBp: number };
  next: { id: string; name: { ru: string; en: string }; percentBp: number; remainingKopecks: number } | null;
  /** Points that expire, soonest first, grouped by date. */
  expiring: { date: string; points: number }[];
}

/** Cards: issuing numbers, resolving typed numbers (and linked plastic cards), views, blocking. */
export function createCardService(deps: { models: { Cards: CardModel; Aliases: CardAliasModel }; clock?: Clock }) {
  const { Cards, Aliases } = deps.models;
  const clock = deps.clock ?? systemClock;

  function view(c: CardDoc, settings: ProgrammeSettings): CardView {
    const level = levelFor(settings, c.spentKopecks, c.manualLevelId);
    const nxt = c.manualLevelId ? null : nextLevel(settings, c.spentKopecks);
    const byDate = new Map<string, number>();
    for (const l of [...c.lots].sort((a, b) => new Date(a.expiresAt).getTime() - new Date(b.expiresAt).getTime())) {
      const d = new Date(l.expiresAt).toISOString().slice(0, 10);
      byDate.set(d, (byDate.get(d) ?? 0) + l.remaining);
    }
    return {
      number: c._id,
      memberId: c.memberId,
      status: c.status,
      balance: c.balance,
      debt: c.debt,
      spentKopecks: c.spentKopecks,
      level: { id: level.id, name: level.name, percentBp: level.percentBp },
      next: nxt ? { id: nxt.level.id, name: nxt.level.name, percentBp: nxt.level.percentBp, remainingKopecks: nxt.remainingKopecks } : null,
      expiring: [...byDate].map(([date, points]) => ({ date, points })),
    };
  }

  return {
    view,
    async init(): Promise<void> {
      await Promise.all([Cards.createIndexes(), Aliases.createIndexes()]);
    },

    /** Creates a card with a fresh random number; a (rare) number collision draws again. */
    async issue(memberId: string, prefix: string, settings: ProgrammeSettings, number?: string): Promise<CardDoc> {
      for (let attempt = 0; attempt < 5; attempt++) {
        const doc = newCardDoc({ _id: number ?? generateCardNumber(prefix, settings.cardRandomDigits), memberId, levelId: levelFor(settings, 0, null).id }, clock.now());
        try {
          await insertRaw(Cards, doc);
          return doc;
        } catch (err) {
          if ((err as { code?: unknown }).code !== 11000) throw err;
          const existing = await Cards.findById(doc._id).lean<CardDoc>();
          if (existing && existing.memberId === memberId) return existing;
          if (number) throw new DomainError('card_already_linked', 'card number is taken');
        }
      }
      throw new Error('could not draw a free card number');
    },

    /**
     * Resolves what a cashier or customer typed: validates format and Luhn, follows a linked
     * plastic card to the programme card, and refuses blocked or replaced cards.
     */
    async resolve(input: string, opts: { allowInactive?: boolean } = {}): Promise<CardDoc> {
      const parsed = parseCardNumber(input);
      if (!parsed.ok) throw new DomainError('invalid_card_number', 'card number is malformed');
      let card = await Cards.findById(parsed.number).lean<CardDoc>();
      if (!card) {
        const alias = await Aliases.findById(parsed.number).lean();
        if (alias?.card) card = await Cards.findById(alias.card).lean<CardDoc>();
      }
      if (!card || card.status === 'unassigned') throw new DomainError('card_not_found', 'no such card');
      if (!opts.allowInactive) {
        if (card.status === 'blocked') throw new DomainError('card_blocked', 'card is blocked');
        if (card.status === 'replaced') throw new DomainError('card_replaced', 'card was replaced', { replacedBy: card.replacedBy });
      }
      return card;
    },

    async byNumber(number: string): Promise<CardDoc | null> {
      return Cards.findById(number).lean<CardDoc>();
    },

    /** Imports plastic card numbers a store already handed out; invalid ones are reported, not stored. */
    async importPlastic(numbers: string[]): Promise<{ imported: number; existing: number; invalid: string[] }> {
      let imported = 0;
      let existing = 0;
      const invalid: string[] = [];
      for (const raw of numbers) {
        const p = parseCardNumber(raw);
        if (!p.ok) {
          invalid.push(raw);
          continue;
        }
        const r = await Aliases.updateOne({ _id: p.number }, { $setOnInsert: { card: null, importedAt: clock.now(), linkedAt: null } }, { upsert: true });
        if (r.upsertedCount === 1) imported++;
        else existing++;
      }
      return { imported, existing, invalid };
    },

    /** Links an imported plastic card to a member's programme card (once). */
    async linkPlastic(plastic: string, programmeCard: string): Promise<void> {
      const p = parseCardNumber(plastic);
      if (!p.ok) throw new DomainError('invalid_card_number', 'card number is malformed');
      const r = await Aliases.updateOne({ _id: p.number, card: null }, { $set: { card: programmeCard, linkedAt: clock.now() } });
      if (r.modifiedCount === 1) return;
      const alias = await Aliases.findById(p.number).lean();
      if (!alias) throw new DomainError('card_not_found', 'this plastic card was not issued by the programme');
      if (alias.card !== programmeCard) throw new DomainError('card_already_linked', 'this plastic card belongs to another member');
    },

    async setStatus(number: string, status: 'active' | 'blocked'): Promise<CardDoc> {
      const card = await Cards.findOneAndUpdate(
        { _id: number, status: { $in: ['active', 'blocked'] } },
        // Not a ledger field: `version` counts ledger entries only (core/ledger/ledger.service.ts).
        { $set: { status, updatedAt: clock.now() } },
        { returnDocument: 'after' },
      ).lean<CardDoc>();
      if (!card) throw new DomainError('card_not_found', 'no such card');
      return card;
    },

  };
}
export type CardService = ReturnType<typeof createCardService>;
