import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import type { Clock } from '../shared/clock.js';
import { isDuplicateKey } from '../shared/errors.js';
import { DAILY_FIELDS, insightModels, PARTNER_FIELDS, type BuyerMonthDoc, type CellDoc, type FactDoc, type ReferralOpenDoc } from './insight.model.js';
import { rollupCells } from './rollup.repository.js';

async function insertOnce(model: { collection: { insertOne(doc: never): Promise<unknown> } }, doc: object): Promise<boolean> {
  try {
    await model.collection.insertOne(doc as never);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

const ROLLUP_ID = 'rollup';

/**
 * The daily stats' storage: facts inserted once by their `_id` (the insert is the claim), the
 * roll-up of facts into days and retention cells (rollup.repository.ts), and reads of the
 * rolled-up cells by `_id` range (what FerretDB v1 answers from its `_id` index).
 */
export function createDailyStatsRepository(conn: Connection) {
  const m = insightModels(conn);
  return {
    async init(): Promise<void> {
      await Promise.all([m.Facts.createIndexes(), m.BuyerMonths.createIndexes(), m.ReferralOpens.createIndexes(), m.PartnerFacts.createIndexes()]);
    },

    /** False when this fact (its event id) is already in. */
    insertFact: (fact: FactDoc): Promise<boolean> => insertOnce(m.Facts, fact),
    /** False when this receipt's (or refund's) partner share is already in. */
    insertPartnerFact: (fact: FactDoc): Promise<boolean> => insertOnce(m.PartnerFacts, fact),
    /** False when this member's purchase month is already in. */
    insertBuyerMonth: (doc: BuyerMonthDoc): Promise<boolean> => insertOnce(m.BuyerMonths, doc),
    /** False when this person already opened this link. */
    insertReferralOpen: (doc: ReferralOpenDoc): Promise<boolean> => insertOnce(m.ReferralOpens, doc),

    /** Folds new facts into days and retention cells; returns how many cells it recomputed. */
    async rollup(clock: Clock): Promise<number> {
      return (
        (await rollupCells(m.Facts, m.Days, DAILY_FIELDS, clock)) +
        (await rollupCells(m.BuyerMonths, m.Cohorts, [], clock)) +
        (await rollupCells(m.PartnerFacts, m.PartnerDays, PARTNER_FIELDS, clock))
      );
    },

    /** When the last roll-up ran and how long it took (insight_snapshots `rollup`). */
    async lastRollup(): Promise<{ at: Date; tookMs: number; version: string } | null> {
      const doc = await m.Snapshots.findById(ROLLUP_ID).lean();
      return doc ? { at: doc.at, tookMs: Number(doc.data.tookMs ?? 0), version: typeof doc.data.version === 'string' ? doc.data.version : '' } : null;
    },
    /** Written after every roll-up, with a new version: readers holding the days in memory read them again. */
    async saveRollup(at: Date, tookMs: number): Promise<void> {
      await m.Snapshots.collection.replaceOne({ _id: ROLLUP_ID as never }, { at, data: { tookMs, version: randomUUID() } }, { upsert: true });
    },

    /** The rolled-up partner days `from`..`to` (inclusive): `_id` = `<day>|<partnerId or ->`. */
    partnerDays(from: string, to: string): Promise<Pick<CellDoc, '_id' | 'v'>[]> {
      // '|' sorts after every digit, so `<to>|~` ends the last day: one `_id` range.
      return m.PartnerDays.find({ _id: { $gte: from, $lte: `${to}|~` } }, { v: 1 }).sort({ _id: 1 }).lean<Pick<CellDoc, '_id' | 'v'>[]>().exec();
    },

    /** The rolled-up days `from`..`to` (inclusive), in day order; days without activity are absent. */
    days(from: string, to: string): Promise<Pick<CellDoc, '_id' | 'v'>[]> {
      return m.Days.find({ _id: { $gte: from, $lte: to } }, { v: 1 }).sort({ _id: 1 }).lean<Pick<CellDoc, '_id' | 'v'>[]>().exec();
    },

    /** Buyers per retention cell `<join month>|<month>` for the join months given. */
    async buyersByCohort(joinMonths: string[]): Promise<Map<string, number>> {
      if (joinMonths.length === 0) return new Map();
      const re = new RegExp(`^(${joinMonths.map((x) => x.replace(/[^\d-]/g, '')).join('|')})\\|`);
      const cells = await m.Cohorts.find({ _id: { $regex: re } }, { n: 1 }).lean();
      return new Map(cells.map((c) => [c._id, c.n]));
    },
  };
}
export type DailyStatsRepository = ReturnType<typeof createDailyStatsRepository>;
