import type { DailyStats } from '../insight/daily-stats.service.js';
import { NO_PARTNER } from '../insight/daily-stats.service.js';
import { parsePeriod } from '../insight/shop-time.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';

export interface PartnerReportRow {
  /** null: stores without a partner (the programme's own). */
  partnerId: string | null;
  name: string | null;
  purchases: number;
  refunds: number;
  /** Receipts net of refunds, kopecks. */
  revenueKopecks: number;
  /** Points the partner's stores accrued, and took back on refunds. */
  accrued: number;
  clawedBack: number;
  /** Points members paid with at the partner's stores, and got back on refunds. */
  redeemed: number;
  returned: number;
  /** accrued − clawedBack: what the partner issued. */
  issued: number;
  /** redeemed − returned: what the partner accepted. */
  redeemedNet: number;
  /**
   * redeemedNet − issued: positive, the partner took more points than it issued (the others owe
   * it that many); negative, it owes them. In kopecks at the programme's point value.
   */
  balance: number;
  balanceKopecks: number;
}

export interface PartnerReport {
  period: { from: string; to: string; timeZone: string };
  pointValueKopecks: number;
  items: PartnerReportRow[];
  total: Omit<PartnerReportRow, 'partnerId' | 'name'>;
}

/**
 * Points issued and accepted per partner in a period: what one partner owes another. Read from
 * the per-partner day cells the insight consumer keeps as ledger events arrive (one fact per
 * purchase or refund, rolled up like the daily stats): no aggregation over the ledger.
 */
export function createPartnerReport(deps: { daily: DailyStats; names: () => Promise<{ id: string; name: string }[]>; settings: () => Promise<ProgrammeSettings>; clock: Clock; timeZone: string }) {
  return async function partnerReport(input: { from?: string | undefined; to?: string | undefined }): Promise<PartnerReport> {
    const p = parsePeriod(input, deps.clock.now(), deps.timeZone);
    await deps.daily.fresh();
    const [sums, partners, settings] = await Promise.all([deps.daily.byPartner(p.from, p.to), deps.names(), deps.settings()]);
    const names = new Map(partners.map((x) => [x.id, x.name]));
    const pv = settings.pointValueKopecks;
    const row = (s: { purchases: number; refunds: number; revenueKopecks: number; refundKopecks: number; accrued: number; clawedBack: number; redeemed: number; returned: number }) => {
      const issued = s.accrued - s.clawedBack;
      const redeemedNet = s.redeemed - s.returned;
      return {
        purchases: s.purchases,
        refunds: s.refunds,
        revenueKopecks: s.revenueKopecks - s.refundKopecks,
        accrued: s.accrued,
        clawedBack: s.clawedBack,
        redeemed: s.redeemed,
        returned: s.returned,
        issued,
        redeemedNet,
        balance: redeemedNet - issued,
        balanceKopecks: (redeemedNet - issued) * pv,
      };
    };
    // Every partner is listed, with zeros when its stores had no receipts; then partners since
    // deleted that still have figures in the period; the programme's own stores last.
    const ids = [...partners.map((x) => x.id), ...[...sums.keys()].filter((k) => k !== NO_PARTNER && !names.has(k)).sort()];
    if (sums.has(NO_PARTNER)) ids.push(NO_PARTNER);
    const zero = { purchases: 0, refunds: 0, revenueKopecks: 0, refundKopecks: 0, accrued: 0, clawedBack: 0, redeemed: 0, returned: 0 };
    const items = ids.map((id) => ({ partnerId: id === NO_PARTNER ? null : id, name: names.get(id) ?? null, ...row(sums.get(id) ?? zero) }));
    const total = { ...zero };
    for (const s of sums.values()) for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += s[k];
    return { period: { from: p.from, to: p.to, timeZone: p.timeZone }, pointValueKopecks: pv, items, total: row(total) };
  };
}
export type PartnerReportFn = ReturnType<typeof createPartnerReport>;
