import { Types, type Connection } from 'mongoose';
import { cardModel, type CardDoc } from '../cards/card.model.js';
import { memberModels, type CardAliasDoc, type MemberDoc, type MemberImport } from '../members/member.model.js';
import type { MemberListing } from '../members/member-listing.js';
import { isDuplicateKey } from '../shared/errors.js';
import { importModels, type ImportMarkDoc } from './import.model.js';

/** Inserts many; returns the indexes that collided with a unique key (the rest are in). */
async function insertMany(coll: { insertMany(docs: never[], o: { ordered: false }): Promise<unknown> }, docs: object[]): Promise<Set<number>> {
  if (docs.length === 0) return new Set();
  try {
    await coll.insertMany(docs as never[], { ordered: false });
    return new Set();
  } catch (err) {
    const writeErrors = (err as { writeErrors?: { index: number; code?: number }[] }).writeErrors;
    const list = Array.isArray(writeErrors) ? writeErrors : [];
    if (list.length === 0 || list.some((e) => e.code !== 11000)) throw err;
    return new Set(list.map((e) => e.index));
  }
}

/** Fields of a member the import created that follow a corrected file. */
export interface FollowedFields {
  name: string;
  consentAt?: Date;
  registeredAt?: Date;
  optIn?: MemberDoc['optIn'];
  updatedAt: Date;
}

/**
 * What an import row writes into the programme, and reads first: the phone's import mark,
 * members, cards, old plastic numbers (aliases). Reads are by key (`_id` or the unique phone),
 * new documents go in by insertMany (on FerretDB v1 every update scans its whole collection,
 * so a large base must not cost an update per row where an insert does), and every write
 * addresses one document.
 */
export function createImportApplyRepository(conn: Connection, listing?: Pick<MemberListing, 'joined'>) {
  const { Members, Aliases } = memberModels(conn);
  const { Marks } = importModels(conn);
  const Cards = cardModel(conn).collection;
  return {
    /** A card as stored (read through the driver: no mongoose casting). */
    async card(number: string): Promise<CardDoc | null> {
      return (await Cards.findOne({ _id: number as never })) as unknown as CardDoc | null;
    },

    /** New cards in one insertMany; returns the indexes whose number was taken. */
    insertCards: (docs: CardDoc[]): Promise<Set<number>> => insertMany(Cards, docs),

    mark(phone: string): Promise<ImportMarkDoc | null> {
      return Marks.findById(phone).lean<ImportMarkDoc>().exec();
    },

    /** New marks in one insertMany; returns the indexes whose phone already had one. */
    insertMarks: (marks: ImportMarkDoc[]): Promise<Set<number>> => insertMany(Marks.collection, marks),

    async replaceMark(mark: ImportMarkDoc): Promise<void> {
      await Marks.collection.replaceOne({ _id: mark._id as never }, mark, { upsert: true });
    },

    /** The member by id; null for nobody, a malformed id included. */
    async member(id: string): Promise<MemberDoc | null> {
      return Types.ObjectId.isValid(id) ? Members.findById(id).lean<MemberDoc>().exec() : null;
    },

    memberByPhone(phone: string): Promise<MemberDoc | null> {
      return Members.findOne({ phone }).lean<MemberDoc>().exec();
    },

    membersByPhone(phones: string[]): Promise<MemberDoc[]> {
      return Members.find({ phone: { $in: phones } }).lean<MemberDoc[]>().exec();
    },

    /** New members in one insertMany; returns the indexes whose phone is already a member (the unique phone index). */
    async insertMembers(docs: MemberDoc[]): Promise<Set<number>> {
      const taken = await insertMany(Members.collection, docs);
      // The new ones join the newest-first list in file order (member-recent.repository.ts).
      await listing?.joined(docs.filter((_, i) => !taken.has(i)).map((d) => ({ id: String(d._id), name: d.name })));
      return taken;
    },

    async followFile(id: MemberDoc['_id'], f: FollowedFields): Promise<void> {
      await Members.collection.updateOne(
        { _id: id },
        {
          $set: {
            name: f.name,
            ...(f.consentAt ? { 'consent.at': f.consentAt } : {}),
            ...(f.registeredAt ? { registeredAt: f.registeredAt } : {}),
            ...(f.optIn ? { optIn: f.optIn } : {}),
            updatedAt: f.updatedAt,
          },
        },
      );
    },

    /** Reserves a card number on a member without one; returns the number the member has after it. */
    async reserveCardNumber(id: MemberDoc['_id'], number: string): Promise<string | null> {
      await Members.updateOne({ _id: id, cardNumber: null }, { $set: { cardNumber: number } });
      return (await Members.findById(id, { cardNumber: 1 }).lean())?.cardNumber ?? null;
    },

    /** Moves a member's reserved number `from` to `to` (only if it still is `from`). */
    async replaceCardNumber(id: MemberDoc['_id'], from: string, to: string): Promise<void> {
      await Members.updateOne({ _id: id, cardNumber: from }, { $set: { cardNumber: to } });
    },

    async setImported(id: MemberDoc['_id'], imported: MemberImport): Promise<void> {
      await Members.collection.updateOne({ _id: id }, { $set: { imported } });
    },

    alias(number: string): Promise<CardAliasDoc | null> {
      return Aliases.findById(number).lean<CardAliasDoc>().exec();
    },

    /** False when the number is already an alias. */
    async insertAlias(doc: CardAliasDoc): Promise<boolean> {
      try {
        await Aliases.collection.insertOne(doc as never);
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    },

    /** Links an alias not linked yet to `card`; false when it was linked already. */
    async linkFreeAlias(number: string, card: string, at: Date): Promise<boolean> {
      return (await Aliases.updateOne({ _id: number, card: null }, { $set: { card, linkedAt: at } })).modifiedCount === 1;
    },
  };
}
export type ImportApplyRepository = ReturnType<typeof createImportApplyRepository>;
