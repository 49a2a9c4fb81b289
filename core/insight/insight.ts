import type { CardService } from '../cards/card.service.js';
import type { ExportRepository } from '../exports/export.repository.js';
import { createExports } from '../exports/export.service.js';
import type { I18n } from '../i18n/i18n.js';
import type { ImportApplyRepository } from '../imports/import-apply.repository.js';
import type { ImportRepository } from '../imports/import.repository.js';
import type { ImportPhones } from '../imports/import.apply.js';
import { createImportService } from '../imports/import.service.js';
import type { ReportsRepository } from '../reports/reports.repository.js';
import { createPartnerReport } from '../reports/partner.report.js';
import { createReports } from '../reports/reports.service.js';
import type { AudienceRepository } from '../segments/audience.repository.js';
import type { SegmentRepository } from '../segments/segment.repository.js';
import { createSegmentService } from '../segments/segment.service.js';
import type { Ledger } from '../ledger/ledger.service.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import type { DailyStatsRepository } from './daily-stats.repository.js';
import { createDailyStats } from './daily-stats.service.js';
import { createInsightConsumer } from './insight.consumer.js';
import { createMemberCounts } from './member-counts.js';
import type { MemberCountsRepository } from './member-counts.repository.js';
import { createMemberStatsMirror } from './member-stats.mirror.js';
import type { MemberStatsRepository } from './member-stats.repository.js';

/** The insight's storage, built by the core factory (core/core.ts) from the connection. */
export interface InsightRepositories {
  daily: DailyStatsRepository;
  memberStats: MemberStatsRepository;
  audience: AudienceRepository;
  segments: SegmentRepository;
  reports: ReportsRepository;
  memberCounts: MemberCountsRepository;
  exports: ExportRepository;
  imports: ImportRepository;
  /** What an import row writes into the programme. */
  importTarget: ImportApplyRepository;
}

export interface InsightDeps {
  repos: InsightRepositories;
  ledger: Ledger;
  cards: CardService;
  /** Who holds a phone (core/members): an import proves its numbers for the shop. */
  phones: ImportPhones;
  settings: () => Promise<ProgrammeSettings>;
  clock: Clock;
  /** The shop's time zone (SHOP_TIMEZONE): days and months of reports. */
  timeZone: string;
  /** The partners' names, for the partner report. */
  partnerNames: () => Promise<{ id: string; name: string }[]>;
}

/** Import, segments, reports and exports, wired on the core's services. */
export function createInsight(deps: InsightDeps) {
  const mirror = createMemberStatsMirror(deps.repos.memberStats);
  const daily = createDailyStats({ repo: deps.repos.daily, timeZone: deps.timeZone, clock: deps.clock });
  const consumer = createInsightConsumer({ members: deps.repos.memberStats, mirror, daily, timeZone: deps.timeZone });
  const imports = createImportService({
    repo: deps.repos.imports,
    target: deps.repos.importTarget,
    ledger: deps.ledger,
    cards: deps.cards,
    mirror,
    phones: deps.phones,
    settings: deps.settings,
    clock: deps.clock,
    timeZone: deps.timeZone,
  });
  const segments = createSegmentService({ repo: deps.repos.segments, audience: deps.repos.audience, clock: deps.clock, timeZone: deps.timeZone, settings: deps.settings });
  // A background refresh that fails leaves the figures as they were; the next read tries again.
  const counts = createMemberCounts({ repo: deps.repos.memberCounts, clock: deps.clock, timeZone: deps.timeZone });
  const reports = createReports({ repo: deps.repos.reports, daily, counts, segments, settings: deps.settings, clock: deps.clock, timeZone: deps.timeZone });
  const partnerReport = createPartnerReport({ daily, names: deps.partnerNames, settings: deps.settings, clock: deps.clock, timeZone: deps.timeZone });
  return {
    timeZone: deps.timeZone,
    mirror,
    daily,
    /** Member counts by day (joined, new, invited, last purchase): what the reports sum. */
    counts,
    consumer,
    imports,
    segments,
    reports,
    /** Points issued and accepted per partner in a period (what one partner owes another). */
    partnerReport,
    /** Exports need the texts of their headers: made where an i18n instance is at hand. */
    exports: (i18n: Pick<I18n, 't'>) => createExports({ repo: deps.repos.exports, segments, cards: deps.cards, clock: deps.clock, timeZone: deps.timeZone, i18n, partnerReport, reports }),
    async init(): Promise<void> {
      await Promise.all([daily.init(), imports.init(), segments.init()]);
    },
  };
}
