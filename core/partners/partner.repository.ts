import type { Connection } from 'mongoose';
import { insertRaw } from '../shared/mongo.js';
import { partnerModel, type PartnerDoc } from './partner.model.js';

/** Partners by `_id` (a handful per programme: the whole list is one small read). */
export function createPartnerRepository(conn: Connection) {
  const Partners = partnerModel(conn);
  return {
    async init(): Promise<void> {
      await Partners.createIndexes();
    },
    insert: (doc: PartnerDoc): Promise<void> => insertRaw(Partners, doc),
    /** Every partner, by name. */
    async list(): Promise<PartnerDoc[]> {
      return Partners.find({}).sort({ name: 1, _id: 1 }).lean<PartnerDoc[]>().exec();
    },
    async byId(id: string): Promise<PartnerDoc | null> {
      return Partners.findById(id).lean<PartnerDoc>().exec();
    },
    /** Replaces the terms; null when there is no such partner. */
    async replace(id: string, terms: Pick<PartnerDoc, 'name' | 'percentBp' | 'levelPercentBp' | 'redeemCapBp' | 'updatedAt'>): Promise<PartnerDoc | null> {
      return Partners.findOneAndUpdate({ _id: id }, { $set: terms }, { returnDocument: 'after' }).lean<PartnerDoc>().exec();
    },
    async remove(id: string): Promise<boolean> {
      return (await Partners.deleteOne({ _id: id })).deletedCount === 1;
    },
  };
}
export type PartnerRepository = ReturnType<typeof createPartnerRepository>;
