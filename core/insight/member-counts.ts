import type { Clock } from '../shared/clock.js';
import type { MemberCountsRepository } from './member-counts.repository.js';
import { createRefresher } from './refresher.js';
import { shopDay } from './shop-time.js';

/** Per shop day: members who joined (j), of them not imported (f), invited (r), invited who bought since (rb), whose last purchase was that day (lp), of them with purchases (lpb). */
type DayCounts = Partial<Record<'j' | 'f' | 'r' | 'rb' | 'lp' | 'lpb', number>>;

interface CountsData {
  /** Members not erased. */
  total: number;
  /** Members with at least one purchase. */
  buyers: number;
  days: Record<string, DayCounts>;
  /** How long the pass took: decides whether reads may wait for the next one. */
  tookMs: number;
}

export interface MemberCountsOptions {
  /** A pass that took less than this is redone on every read (default 300 ms). */
  liveUnderMs: number;
  /** A longer one is redone in the background once its counts are older than this (default 5 min, the worker's schedule). */
  staleAfterMs: number;
}

const FIRST_DAY = '0000-01-01';
const LAST_DAY = '9999-12-31';

/**
 * Member counts by shop day, for the reports and the dashboard: who joined when (new or
 * imported, invited or not) and when each member last bought. One pass over the members fills
 * them all; a report then sums days instead of counting members per figure, which on the
 * embedded store (FerretDB v1 filters by scanning) meant a full scan per number on the page.
 * Days are the shop's (SHOP_TIMEZONE); "active in 30 days" counts members whose last purchase
 * fell on or after the shop day 30 days ago.
 */
export function createMemberCounts(deps: { repo: MemberCountsRepository; clock: Clock; timeZone: string; options?: Partial<MemberCountsOptions>; onBackgroundError?: (err: unknown) => void }) {
  const o: MemberCountsOptions = { liveUnderMs: 300, staleAfterMs: 300_000, ...deps.options };

  // The counts of the last version read, kept in memory: a report reads the small meta document
  // and the counts only when another pass has written new ones.
  let cached: { version: string; data: CountsData } | null = null;
  const load = async (known?: { at: Date; version: string } | null): Promise<{ at: Date; data: CountsData } | null> => {
    const meta = known ?? (await deps.repo.meta());
    if (!meta) return null;
    if (cached?.version !== meta.version) {
      // Written only by recount() below, in this shape.
      const data = (await deps.repo.load()) as unknown as CountsData | null;
      if (!data) return null;
      cached = { version: meta.version, data };
    }
    return { at: meta.at, data: cached.data };
  };

  async function recount(): Promise<void> {
    const t0 = performance.now();
    const at = deps.clock.now();
    const data: CountsData = { total: 0, buyers: 0, days: {}, tookMs: 0 };
    const add = (day: string, k: keyof DayCounts): void => {
      const d = (data.days[day] ??= {});
      d[k] = (d[k] ?? 0) + 1;
    };
    for await (const m of deps.repo.members()) {
      data.total++;
      if (m.purchases > 0) data.buyers++;
      if (m.registeredAt) {
        const day = shopDay(m.registeredAt, deps.timeZone);
        add(day, 'j');
        if (!m.imported) add(day, 'f');
        if (m.referred) {
          add(day, 'r');
          if (m.purchases > 0) add(day, 'rb');
        }
      }
      if (m.lastPurchaseAt) {
        const day = shopDay(m.lastPurchaseAt, deps.timeZone);
        add(day, 'lp');
        if (m.purchases > 0) add(day, 'lpb');
      }
    }
    data.tookMs = Math.round(performance.now() - t0);
    await deps.repo.save(at, data.tookMs, data);
  }

  const refresher = createRefresher({
    run: recount,
    last: () => deps.repo.meta(),
    liveUnderMs: o.liveUnderMs,
    staleAfterMs: o.staleAfterMs,
    now: () => deps.clock.now(),
    onBackgroundError: deps.onBackgroundError ?? (() => undefined),
  });

  function view(at: Date, data: CountsData) {
    const sum = (k: keyof DayCounts, from: string, to: string): number => {
      let n = 0;
      for (const [day, c] of Object.entries(data.days)) if (day >= from && day <= to) n += c[k] ?? 0;
      return n;
    };
    return {
      asOf: at,
      total: data.total,
      buyers: data.buyers,
      /** Members who joined on the days `from`..`to` (inclusive; imported ones with `fresh: false` too). */
      joined: (from: string | null, to: string | null, opts: { fresh?: boolean; referred?: 'all' | 'bought' } = {}): number =>
        sum(opts.referred === 'bought' ? 'rb' : opts.referred === 'all' ? 'r' : opts.fresh ? 'f' : 'j', from ?? FIRST_DAY, to ?? LAST_DAY),
      /** New (not imported) members per day of `from`..`to`, days without any left out. */
      freshByDay: (from: string, to: string): { day: string; count: number }[] =>
        Object.entries(data.days)
          .filter(([day, c]) => day >= from && day <= to && (c.f ?? 0) > 0)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([day, c]) => ({ day, count: c.f ?? 0 })),
      /** Members whose last purchase fell on or after the shop day of `since`. */
      boughtSince: (since: Date): number => sum('lp', shopDay(since, deps.timeZone), LAST_DAY),
      /** Buyers whose last purchase fell before the shop day of `before`. */
      lapsedBefore: (before: Date): number => {
        const day = shopDay(before, deps.timeZone);
        let n = 0;
        for (const [d, c] of Object.entries(data.days)) if (d < day) n += c.lpb ?? 0;
        return n;
      },
    };
  }

  return {
    /** The counts, as fresh as their cost allows (see refresher.ts). */
    async get() {
      // The meta the freshness check read is current unless it waited for a new count.
      const seen = await refresher.fresh();
      const s = await load(seen);
      return s ? view(s.at, s.data) : view(deps.clock.now(), { total: 0, buyers: 0, days: {}, tookMs: 0 });
    },
    /** Counts again now (the worker's schedule; after an import). */
    recount: refresher.now,
  };
}
export type MemberCounts = ReturnType<typeof createMemberCounts>;
export type MemberCountsView = Awaited<ReturnType<MemberCounts['get']>>;
