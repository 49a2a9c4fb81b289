import type { Connection } from 'mongoose';
import { createCardService } from './cards/card.service.js';
import { createContestService } from './contests/contest.service.js';
import { createInsight } from './insight/insight.js';
import { createOutbox } from './events/outbox.js';
import { createLedger, type LedgerHooks } from './ledger/ledger.service.js';
import { createMemberService } from './members/member.service.js';
import { createPhoneProofService } from './members/phone-proof.service.js';
import { createSettingsRepository } from './programme/settings.repository.js';
import { createPurchaseService } from './purchases/purchase.service.js';
import { systemClock, type Clock } from './shared/clock.js';
import { createStoreRepository } from './stores/store.repository.js';

/**
 * The domain, wired: every service gets its dependencies as arguments (no singletons).
 * Channels, the API and workers receive this object and call into it.
 */
export function createCore(deps: { conn: Connection; clock?: Clock; ledgerHooks?: LedgerHooks; settingsCacheMs?: number; timeZone?: string }) {
  const clock = deps.clock ?? systemClock;
  const settingsRepo = createSettingsRepository(deps.conn, { clock, ...(deps.settingsCacheMs !== undefined ? { cacheMs: deps.settingsCacheMs } : {}) });
  const settings = () => settingsRepo.current();
  const ledger = createLedger({ conn: deps.conn, settings, clock, ...(deps.ledgerHooks ? { hooks: deps.ledgerHooks } : {}) });
  const cards = createCardService({ conn: deps.conn, clock });
  const members = createMemberService({ conn: deps.conn, ledger, cards, settings, clock });
  const purchases = createPurchaseService({ conn: deps.conn, ledger, cards, members, settings, clock });
  const stores = createStoreRepository(deps.conn);
  const outbox = createOutbox({ conn: deps.conn, clock });
  const phoneProofs = createPhoneProofService({ conn: deps.conn, outbox, clock });
  const contests = createContestService({ conn: deps.conn, cards, members, settings, outbox, clock });
  const insight = createInsight({ conn: deps.conn, ledger, cards, settings, clock, timeZone: deps.timeZone ?? 'Europe/Moscow' });
  return {
    clock,
    settings: settingsRepo,
    ledger,
    cards,
    members,
    purchases,
    stores,
    outbox,
    phoneProofs,
    contests,
    /** Import, segments, reports, exports (core/insight/insight.ts). */
    insight,
    /** Creates indexes (and the default settings) once at start-up. */
    async init(): Promise<void> {
      await Promise.all([settingsRepo.init(), ledger.init(), cards.init(), members.init(), purchases.init(), stores.init(), outbox.init(), phoneProofs.init(), contests.init(), insight.init()]);
      await settingsRepo.current();
    },
    /** The recovery pass: finishes movements, purchases and refunds a crash left half-done. */
    async recover(olderThanMs = 30_000): Promise<{ entries: { completed: number; voided: number; left: number }; purchases: number; refunds: number }> {
      const entries = await ledger.recover(olderThanMs);
      const ops = await purchases.recover(olderThanMs);
      return { entries, ...ops };
    },
  };
}
export type Core = ReturnType<typeof createCore>;
