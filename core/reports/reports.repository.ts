import type { Connection } from 'mongoose';
import { contestModels, type ContestDoc } from '../contests/contest.model.js';
import { insightModels, type FactDoc } from '../insight/insight.model.js';
import { memberModels } from '../members/member.model.js';

/** A time range [start, end). */
export interface Span {
  start: Date;
  end: Date;
}

/**
 * What the reports read beyond the daily documents and the member counts: the retention cells,
 * referral opens, contests and their entries, and purchase facts of given members. Never an
 * aggregation over the whole base.
 */
export function createReportsRepository(conn: Connection) {
  const { Members } = memberModels(conn);
  const { Facts, ReferralOpens, Cohorts } = insightModels(conn);
  const { Contests, Entries } = contestModels(conn);
  const joined = (s: Span) => ({ registeredAt: { $gte: s.start, $lt: s.end } });
  // Imported members joined the old programme: they are not new here.
  const notImported = { 'imported.createdByImport': { $ne: true } };

  return {
    /** Every retention cell `<join month>|<month>` with its buyers. */
    buyerCells(): Promise<{ _id: string; n: number }[]> {
      return Cohorts.find({}, { n: 1 }).lean<{ _id: string; n: number }[]>().exec();
    },

    /** Referral links opened within the span. */
    referralOpens: (s: Span): Promise<number> => ReferralOpens.countDocuments({ at: { $gte: s.start, $lt: s.end } }).exec(),

    /** Contests open at some time within the span, by opening (at most 200). */
    contestsWithin(s: Span): Promise<Pick<ContestDoc, '_id' | 'title' | 'opensAt' | 'closesAt'>[]> {
      return Contests.find({ opensAt: { $lt: s.end }, closesAt: { $gte: s.start } }, { title: 1, opensAt: 1, closesAt: 1 })
        .sort({ opensAt: 1 })
        .limit(200)
        .lean<Pick<ContestDoc, '_id' | 'title' | 'opensAt' | 'closesAt'>[]>()
        .exec();
    },

    /** The member of each entry of a contest (null for an entry without one). */
    async *contestEntrants(contestId: string): AsyncGenerator<string | null> {
      for await (const e of Entries.find({ contestId }, { memberId: 1 }).lean().cursor()) yield e.memberId;
    },

    /** How many of these members are new within the span (joined then, not imported). */
    newAmong: (memberIds: string[], s: Span): Promise<number> => Members.countDocuments({ _id: { $in: memberIds }, ...joined(s), ...notImported }).exec(),

    /** Purchase facts of these members within the span. */
    purchaseFacts(memberIds: string[], s: Span): Promise<Pick<FactDoc, 'memberId' | 'purchases' | 'revenueKopecks'>[]> {
      return Facts.find({ memberId: { $in: memberIds }, at: { $gte: s.start, $lt: s.end }, purchases: { $gt: 0 } }, { memberId: 1, purchases: 1, revenueKopecks: 1 })
        .lean<Pick<FactDoc, 'memberId' | 'purchases' | 'revenueKopecks'>[]>()
        .exec();
    },
  };
}
export type ReportsRepository = ReturnType<typeof createReportsRepository>;
