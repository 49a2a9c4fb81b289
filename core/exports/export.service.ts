import type { I18n, Language } from '../i18n/i18n.js';
import { parsePeriod, type Period } from '../insight/shop-time.js';
import type { MemberDoc } from '../members/member.model.js';
import { purchaseIdOf } from '../purchases/purchase.service.js';
import type { CardDoc } from '../cards/card.model.js';
import type { CardService } from '../cards/card.service.js';
import type { Clock } from '../shared/clock.js';
import type { AudienceDoc } from '../segments/audience.model.js';
import type { SegmentService } from '../segments/segment.service.js';
import type { PartnerReportFn, PartnerReportRow } from '../reports/partner.report.js';
import { exportStream, type ExportColumn, type ExportFormat, type ExportValue } from './export.format.js';
import type { ExportRepository } from './export.repository.js';
import { createReportExports } from './report.export.js';
import type { Readable } from 'node:stream';

export interface ExportResult {
  stream: Readable;
  fileName: string;
}

const MEMBER_COLUMNS = ['member_id', 'phone', 'name', 'card', 'status', 'joined_at', 'channel', 'level', 'balance', 'purchases', 'spent_rub', 'last_purchase_at', 'earned', 'redeemed', 'expired', 'referrals', 'contests', 'channels', 'has_pass', 'reachable', 'rfm_r', 'rfm_f', 'rfm_m', 'rfm_group'] as const;
const LEDGER_COLUMNS = ['entry_id', 'applied_at', 'card', 'type', 'amount', 'balance_after', 'store_id', 'receipt_id', 'reason', 'author'] as const;
const PURCHASE_COLUMNS = ['purchase_id', 'created_at', 'store_id', 'receipt_id', 'card', 'member_id', 'total_rub', 'discount_rub', 'redeemed_points', 'accrued_points', 'refunded_rub'] as const;

const PARTNER_COLUMNS = ['partner_id', 'partner', 'purchases', 'refunds', 'revenue_rub', 'accrued', 'clawed_back', 'issued', 'redeemed', 'returned', 'redeemed_net', 'balance_points', 'balance_rub'] as const;

const rub = (k: number): number => Math.round(k) / 100;

/**
 * Exports: members (with their segment and RFM columns), ledger entries of a period (for the
 * accountant) and purchases of a period, as CSV or XLSX, streamed: rows are read with a
 * cursor and written as they come, never the whole set in memory. Also each table of the
 * Reports page (`report`).
 */
export function createExports(deps: {
  repo: ExportRepository;
  segments: SegmentService;
  cards: Pick<CardService, 'byNumber'>;
  clock: Clock;
  timeZone: string;
  i18n: Pick<I18n, 't'>;
  partnerReport: PartnerReportFn;
  reports: Parameters<typeof createReportExports>[0]['reports'];
}) {
  const columns = (kind: string, keys: readonly string[], lang: Language): ExportColumn[] => keys.map((k) => ({ key: k, label: deps.i18n.t(lang, `insight:export.${kind}.${k}`) }));
  const stamp = (): string => deps.clock.now().toISOString().slice(0, 10);
  const rfmName = (g: string | null, lang: Language): string | null => (g ? deps.i18n.t(lang, `insight:rfm.${g}`) : null);

  /**
   * Members in id order, each with its audience document: both cursors run in the same
   * order, so they are merged side by side (one read of each collection, no look-up per row).
   */
  async function* memberRows(segmentId: string | null, lang: Language): AsyncGenerator<ExportValue[]> {
    const audience = deps.segments.audienceOf(segmentId);
    const members = deps.repo.membersInIdOrder();
    let m = (await members.next());
    for await (const a of audience) {
      const id = String(a._id);
      while (m && String(m._id) < id) m = (await members.next());
      if (!m || String(m._id) !== id) continue;
      yield memberRow(m, a, lang);
      m = (await members.next());
    }
    await members.close();
  }

  function memberRow(m: MemberDoc, a: AudienceDoc, lang: Language): ExportValue[] {
    return [
      String(m._id),
      m.phone,
      m.name,
      m.cardNumber,
      m.status,
      a.joinedAt ? new Date(a.joinedAt) : null,
      a.channel,
      a.level,
      a.balance,
      a.purchases,
      rub(a.spentKopecks),
      a.lastPurchaseAt ? new Date(a.lastPurchaseAt) : null,
      a.earned,
      a.redeemed,
      a.expired,
      a.referrals,
      a.contests,
      a.channels.join(', '),
      a.hasPass,
      a.reachable.join(', '),
      a.rfmR,
      a.rfmF,
      a.rfmM,
      rfmName(a.rfmGroup, lang),
    ];
  }

  async function* ledgerRows(p: Period): AsyncGenerator<ExportValue[]> {
    for await (const e of deps.repo.entries(p)) {
      yield [e._id, new Date(e.createdAt), e.card, e.type, e.amount, e.result.balanceAfter, e.ref.storeId ?? null, e.ref.receiptId ?? null, e.ref.reason ?? null, e.ref.author ?? null];
    }
  }

  /**
   * Purchases of a period: receipts live on their ledger entries; what was refunded of each
   * comes from the card, which keeps the refunds of its receipts (read once per card).
   */
  async function* purchaseRows(p: Period): AsyncGenerator<ExportValue[]> {
    const refundsOf = new Map<string, CardDoc['refunds']>();
    for await (const e of deps.repo.entries(p, 'purchase')) {
      const x = e.purchase;
      if (!x) continue;
      if (!refundsOf.has(e.card)) {
        if (refundsOf.size >= 10_000) refundsOf.clear();
        refundsOf.set(e.card, (await deps.cards.byNumber(e.card))?.refunds ?? []);
      }
      const refunded = refundsOf.get(e.card)?.find((r) => r.purchaseKey === e._id)?.kopecks ?? 0;
      yield [purchaseIdOf(e._id), new Date(e.createdAt), x.storeId, x.receiptId, e.card, e.memberId, rub(x.totalKopecks), rub(x.discountKopecks), x.redeemPoints, x.accrued, rub(refunded)];
    }
  }

  /** The partner report's rows and its total (a handful of rows: built whole, not streamed). */
  async function* partnerRows(input: { from?: string | undefined; to?: string | undefined }, lang: Language): AsyncGenerator<ExportValue[]> {
    const r = await deps.partnerReport(input);
    const cells = (x: Omit<PartnerReportRow, 'partnerId' | 'name'>): ExportValue[] => [x.purchases, x.refunds, rub(x.revenueKopecks), x.accrued, x.clawedBack, x.issued, x.redeemed, x.returned, x.redeemedNet, x.balance, rub(x.balanceKopecks)];
    for (const row of r.items) yield [row.partnerId, row.partnerId ? row.name : deps.i18n.t(lang, 'insight:export.partners.own'), ...cells(row)];
    yield [null, deps.i18n.t(lang, 'insight:export.partners.total'), ...cells(r.total)];
  }

  const period = (input: { from?: string | undefined; to?: string | undefined }): Period => parsePeriod(input, deps.clock.now(), deps.timeZone);
  const reportExports = createReportExports({ reports: deps.reports, clock: deps.clock, timeZone: deps.timeZone, i18n: deps.i18n });

  return {
    /** One table of the Reports page (core/exports/report.export.ts): a report's result, built whole (a few rows). */
    report: reportExports.report,

    async members(input: { format: ExportFormat; segmentId?: string | undefined; lang: Language }): Promise<ExportResult> {
      // Refuses an unknown segment before any byte is sent.
      if (input.segmentId) await deps.segments.get(input.segmentId);
      return {
        stream: exportStream(input.format, deps.i18n.t(input.lang, 'insight:export.members.sheet'), columns('members', MEMBER_COLUMNS, input.lang), memberRows(input.segmentId ?? null, input.lang)),
        fileName: `members-${stamp()}.${input.format}`,
      };
    },

    ledger(input: { format: ExportFormat; from?: string | undefined; to?: string | undefined; lang: Language }): ExportResult {
      const p = period(input);
      return {
        stream: exportStream(input.format, deps.i18n.t(input.lang, 'insight:export.ledger.sheet'), columns('ledger', LEDGER_COLUMNS, input.lang), ledgerRows(p)),
        fileName: `ledger-${p.from}-${p.to}.${input.format}`,
      };
    },

    partners(input: { format: ExportFormat; from?: string | undefined; to?: string | undefined; lang: Language }): ExportResult {
      const p = period(input);
      return {
        stream: exportStream(input.format, deps.i18n.t(input.lang, 'insight:export.partners.sheet'), columns('partners', PARTNER_COLUMNS, input.lang), partnerRows(p, input.lang)),
        fileName: `partners-${p.from}-${p.to}.${input.format}`,
      };
    },

    purchases(input: { format: ExportFormat; from?: string | undefined; to?: string | undefined; lang: Language }): ExportResult {
      const p = period(input);
      return {
        stream: exportStream(input.format, deps.i18n.t(input.lang, 'insight:export.purchases.sheet'), columns('purchases', PURCHASE_COLUMNS, input.lang), purchaseRows(p)),
        fileName: `purchases-${p.from}-${p.to}.${input.format}`,
      };
    },
  };
}
export type Exports = ReturnType<typeof createExports>;
