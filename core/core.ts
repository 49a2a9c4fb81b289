import type { Connection } from 'mongoose';
import { createCardService } from './cards/card.service.js';
import { createContestService } from './contests/contest.service.js';
import { createOutbox } from './events/outbox.js';
import type { EventSink } from './events/event.types.js';
import { createLedgerRepository } from './ledger/ledger.repository.js';
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
export interface CoreDeps {
  conn: Connection;
  clock?: Clock;
  /** Where ledger entries' events go (the queues); a bare core (some tests) tells nobody. */
  events?: EventSink;
  ledgerHooks?: LedgerHooks;
  settingsCacheMs?: number;
  /**
   * Whether card writes may carry a `version` guard. True on MongoDB; false on FerretDB v1, which
   * reads a whole collection for any filter beyond `_id` (docs/ledger.md, "FerretDB").
   */
  guardedCardWrites?: boolean;
  /** How long a till operation may wait for its card before answering card_busy (ms). */
  ledgerBudgetMs?: number;
  log?: (msg: string, err?: unknown) => void;
}

export function createCore(deps: CoreDeps) {
  const clock = deps.clock ?? systemClock;
  const settingsRepo = createSettingsRepository(deps.conn, { clock, ...(deps.settingsCacheMs !== undefined ? { cacheMs: deps.settingsCacheMs } : {}) });
  const settings = () => settingsRepo.current();
  const ledger = createLedger({
    repo: createLedgerRepository(deps.conn, { guardedCardWrites: deps.guardedCardWrites ?? true }),
    settings,
    clock,
    ...(deps.events ? { events: deps.events } : {}),
    ...(deps.ledgerHooks ? { hooks: deps.ledgerHooks } : {}),
    ...(deps.ledgerBudgetMs !== undefined ? { budgetMs: deps.ledgerBudgetMs } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
  const cards = createCardService({ conn: deps.conn, clock });
  const members = createMemberService({ conn: deps.conn, ledger, cards, settings, clock });
  const purchases = createPurchaseService({ ledger, cards, members, settings });
  const stores = createStoreRepository(deps.conn);
  const outbox = createOutbox({ conn: deps.conn, clock });
  const phoneProofs = createPhoneProofService({ conn: deps.conn, outbox, clock });
  const contests = createContestService({ conn: deps.conn, cards, members, settings, outbox, clock });
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
    /** Creates indexes (and the default settings) once at start-up. */
    async init(): Promise<void> {
      await Promise.all([settingsRepo.init(), ledger.init(), cards.init(), members.init(), purchases.init(), stores.init(), outbox.init(), phoneProofs.init(), contests.init()]);
      await settingsRepo.current();
    },
    /**
     * The recovery pass: folds forward cards left behind their ledger entries written since
     * `since` (a process that died between recording a movement and updating the card).
     */
    async recover(since?: Date): Promise<{ checked: number; folded: number }> {
      return since ? ledger.sweep(since) : ledger.sweepSinceLast();
    },
    close(): void {
      ledger.close();
    },
  };
}
export type Core = ReturnType<typeof createCore>;
