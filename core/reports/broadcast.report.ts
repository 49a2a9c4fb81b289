import type { ReportsRepository } from './reports.repository.js';

/** Member ids, a page at a time (for example a segment's resolveSegment, or the broadcast's recipient records). */
export type MemberIdPages = () => AsyncIterable<string[]>;

/**
 * What the broadcasts report needs of one broadcast (the broadcast engine provides it):
 * when it was sent, how many deliveries and unsubscriptions it had, and who got it versus
 * the random holdout left out of it (a campaign option, 5 % by default).
 */
export interface BroadcastReportInput {
  id: string;
  sentAt: Date;
  delivered: number;
  unsubscribed: number;
  recipients: MemberIdPages;
  holdout: MemberIdPages;
}

export interface GroupOutcome {
  members: number;
  /** Members with at least one purchase within the window after the send. */
  buyers: number;
  purchases: number;
  revenueKopecks: number;
  /** buyers / members. */
  conversion: number;
}

export interface BroadcastReport {
  id: string;
  sentAt: string;
  windowDays: number;
  delivered: number;
  unsubscribed: number;
  recipients: GroupOutcome;
  holdout: GroupOutcome;
  /** Conversion of recipients minus that of the holdout, in percentage points. */
  upliftPoints: number;
  /** Revenue the broadcast brought beyond what recipients would have spent anyway (holdout's revenue per member × recipients). */
  incrementalRevenueKopecks: number;
}

export const WINDOW_DAYS = 7;
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/**
 * Purchases within 7 days of a broadcast, recipients against the holdout, read from the
 * purchase facts (one per ledger purchase, by member and time) page by page.
 */
export async function broadcastReport(facts: Pick<ReportsRepository, 'purchaseFacts'>, input: BroadcastReportInput, windowDays = WINDOW_DAYS): Promise<BroadcastReport> {
  const end = new Date(input.sentAt.getTime() + windowDays * 86_400_000);
  async function outcome(pages: MemberIdPages): Promise<GroupOutcome> {
    const o = { members: 0, buyers: 0, purchases: 0, revenueKopecks: 0, conversion: 0 };
    for await (const page of pages()) {
      o.members += page.length;
      const buyers = new Set<string>();
      for (const f of await facts.purchaseFacts(page, { start: input.sentAt, end })) {
        if (f.memberId) buyers.add(f.memberId);
        o.purchases += f.purchases ?? 0;
        o.revenueKopecks += f.revenueKopecks ?? 0;
      }
      o.buyers += buyers.size;
    }
    o.conversion = o.members ? round4(o.buyers / o.members) : 0;
    return o;
  }
  const recipients = await outcome(input.recipients);
  const holdout = await outcome(input.holdout);
  const perHoldout = holdout.members ? holdout.revenueKopecks / holdout.members : 0;
  return {
    id: input.id,
    sentAt: input.sentAt.toISOString(),
    windowDays,
    delivered: input.delivered,
    unsubscribed: input.unsubscribed,
    recipients,
    holdout,
    upliftPoints: Math.round((recipients.conversion - holdout.conversion) * 10_000) / 100,
    incrementalRevenueKopecks: Math.round(recipients.revenueKopecks - perHoldout * recipients.members),
  };
}
