import type { Readable } from 'node:stream';
import type { I18n, Language } from '../i18n/i18n.js';
import { addDays, parsePeriod, shopDay } from '../insight/shop-time.js';
import type { createReports } from '../reports/reports.service.js';
import type { Clock } from '../shared/clock.js';
import { exportStream, type ExportColumn, type ExportFormat, type ExportValue } from './export.format.js';

type Reports = ReturnType<typeof createReports>;
type Result<K extends keyof Reports> = Awaited<ReturnType<Reports[K]>>;

/**
 * The tables of the Reports page, each downloadable on its own. `summary`, `members`,
 * `activity`, `points`, `referrals` and `churn` are figure/value lists (as the page shows them);
 * the others are tables with a row per day, cohort month × month, level or join month.
 */
export const REPORT_EXPORTS = ['summary', 'members', 'new-members', 'activity', 'points', 'referrals', 'retention', 'churn', 'ltv-levels', 'ltv-cohorts'] as const;
export type ReportExportKind = (typeof REPORT_EXPORTS)[number];

export const isReportExport = (kind: string): kind is ReportExportKind => (REPORT_EXPORTS as readonly string[]).includes(kind);

interface Table {
  columns: { key: string; label: string }[];
  rows: ExportValue[][];
}

const rub = (kopecks: number): number => Math.round(kopecks) / 100;
/** A report's share (0..1, four decimals) as a percentage, the way a spreadsheet reader expects it. */
const pct = (share: number): number => Math.round(share * 10_000) / 100;

/**
 * Report results → rows, for CSV/XLSX. Presentation only: the figures are the reports' own
 * (core/reports/reports.service.ts), in roubles instead of kopecks and percent instead of shares;
 * headers come from locales/<lang>/insight.json (`export.report.*`).
 */
export function createReportExports(deps: { reports: Reports; clock: Clock; timeZone: string; i18n: Pick<I18n, 't'> }) {
  const r = deps.reports;

  function tables(lang: Language) {
    const t = (key: string, opts?: Record<string, unknown>): string => deps.i18n.t(lang, `insight:export.report.${key}`, opts);
    const columns = (group: string, keys: readonly string[]) => keys.map((k) => ({ key: k, label: t(`${group}.${k}`) }));
    /** A figure/value list: one row per figure, its label from `figures.<key>`. */
    const figures = (rows: [key: string, value: ExportValue, opts?: Record<string, unknown>][]): Table => ({
      columns: columns('columns', ['figure', 'value']),
      rows: rows.map(([key, value, opts]) => [t(`figures.${key}`, opts), value]),
    });
    const periodRows = (p: { from: string; to: string }): [string, ExportValue][] => [
      ['period_from', p.from],
      ['period_to', p.to],
    ];
    const byChannel = (key: string, counts: Record<string, number>): [string, ExportValue, Record<string, unknown>][] =>
      Object.entries(counts)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([channel, n]) => [key, n, { channel }]);
    const ltv = (keyColumn: string, items: Result<'ltv'>['byLevel']): Table => ({
      columns: columns('ltv', [keyColumn, 'members', 'spent_rub', 'average_rub']),
      rows: items.map((x) => [x.key, x.members, rub(x.spentKopecks), rub(x.averageKopecks)]),
    });

    return {
      summary: (x: Result<'summary'>): Table =>
        figures([
          ...periodRows(x.period),
          ['members_total', x.members.total],
          ['members_new', x.members.new],
          ['points_issued', x.points.issued],
          ['points_redeemed', x.points.redeemed],
          ['points_expired', x.points.expired],
          ['points_outstanding', x.points.outstanding],
          ['purchases', x.purchases.count],
          ['revenue_rub', rub(x.purchases.revenue)],
          ['refunds', x.purchases.refunds],
          ['average_receipt_rub', rub(x.purchases.averageReceipt)],
        ]),
      members: (x: Result<'members'>): Table =>
        figures([
          ...periodRows(x.period),
          ['members_total', x.total],
          ['members_new', x.new],
          ['with_pass', x.withPass],
          ...byChannel('joined_via', x.byJoinChannel),
          ...byChannel('using_channel', x.usingChannel),
          ...byChannel('reachable_by', x.reachable),
        ]),
      newMembers: (x: Result<'members'>): Table => {
        // Every day of the period, the quiet ones as 0 (the report lists only days with joins).
        const byDay = new Map(x.newByDay.map((d) => [d.day, d.count]));
        const rows: ExportValue[][] = [];
        for (let day = x.period.from; day <= x.period.to; day = addDays(day, 1)) rows.push([day, byDay.get(day) ?? 0]);
        return { columns: columns('new_members', ['day', 'count']), rows };
      },
      activity: (x: Result<'activity'>): Table =>
        figures([
          ...periodRows(x.period),
          ['members_total', x.members],
          ['active30', x.active30.count],
          ['active30_pct', pct(x.active30.share)],
          ['active90', x.active90.count],
          ['active90_pct', pct(x.active90.share)],
          ['purchases', x.purchases],
          ['revenue_rub', rub(x.revenue)],
          ['average_receipt_rub', rub(x.averageReceipt)],
          ['buyer_months', x.buyerMonths],
          ['purchases_per_buyer_month', x.purchasesPerBuyerMonth],
        ]),
      points: (x: Result<'points'>): Table =>
        figures([
          ...periodRows(x.period),
          ['points_issued', x.issued],
          ['points_redeemed', x.redeemed],
          ['points_expired', x.expired],
          ['points_adjusted_out', x.adjustedOut],
          ['points_imported', x.imported],
          ['points_outstanding', x.outstanding],
          ['outstanding_rub', rub(x.outstandingKopecks)],
          ['redemption_rate_pct', pct(x.redemptionRate)],
        ]),
      referrals: (x: Result<'referrals'>): Table =>
        figures([...periodRows(x.period), ['ref_opened', x.opened], ['ref_joined', x.joined], ['ref_first_purchase', x.firstPurchase]]),
      retention: (x: Result<'retention'>): Table => ({
        columns: columns('retention', ['cohort', 'members', 'month', 'offset', 'buyers', 'share_pct']),
        rows: x.cohorts.flatMap((c) => c.months.map((m): ExportValue[] => [c.cohort, c.members, m.month, m.offset, m.buyers, pct(m.share)])),
      }),
      churn: (x: Result<'retention'>): Table =>
        figures([['churn_buyers', x.churn.buyers], ['churn_churned', x.churn.churned], ['churn_pct', pct(x.churn.share)]]),
      ltvLevels: (x: Result<'ltv'>): Table => ltv('level', x.byLevel),
      ltvCohorts: (x: Result<'ltv'>): Table => ltv('cohort', x.byCohort),
    };
  }

  /** Runs the report behind `kind` and lays it out; an unknown period is refused before any byte is written. */
  async function table(kind: ReportExportKind, p: { from: string; to: string }, lang: Language): Promise<Table> {
    const tb = tables(lang);
    switch (kind) {
      case 'summary':
        return tb.summary(await r.summary(p));
      case 'members':
        return tb.members(await r.members(p));
      case 'new-members':
        return tb.newMembers(await r.members(p));
      case 'activity':
        return tb.activity(await r.activity(p));
      case 'points':
        return tb.points(await r.points(p));
      case 'referrals':
        return tb.referrals(await r.referrals(p));
      case 'retention':
        return tb.retention(await r.retention(p));
      case 'churn':
        return tb.churn(await r.retention(p));
      case 'ltv-levels':
        return tb.ltvLevels(await r.ltv());
      case 'ltv-cohorts':
        return tb.ltvCohorts(await r.ltv());
    }
  }

  return {
    /** One table of the Reports page for a period (`ltv-*` ignore it: they are as of the last audience pass). */
    async report(input: { kind: ReportExportKind; format: ExportFormat; from?: string | undefined; to?: string | undefined; lang: Language }): Promise<{ stream: Readable; fileName: string }> {
      const p = parsePeriod(input, deps.clock.now(), deps.timeZone);
      const tb = await table(input.kind, p, input.lang);
      const columns: ExportColumn[] = tb.columns.map((c) => ({ ...c, width: c.key === 'figure' ? 36 : 16 }));
      const rows = (async function* () {
        yield* tb.rows;
      })();
      const sheet = deps.i18n.t(input.lang, `insight:export.report.sheet.${input.kind}`);
      const span = input.kind.startsWith('ltv-') ? shopDay(deps.clock.now(), deps.timeZone) : `${p.from}-${p.to}`;
      return { stream: exportStream(input.format, sheet, columns, rows), fileName: `report-${input.kind}-${span}.${input.format}` };
    },
  };
}
