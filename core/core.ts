import { createHmac } from 'node:crypto';
import type { Connection } from 'mongoose';
import { createAdminService } from './admin/admin.service.js';
import { createBroadcastRepository } from './broadcasts/broadcast.repository.js';
import { createBroadcasts } from './broadcasts/broadcasts.js';
import { createDeliveryRepository } from './broadcasts/delivery.repository.js';
import { createRecipientRepository } from './broadcasts/recipient.repository.js';
import { createAuditLog } from './audit/audit.repository.js';
import { cardModel } from './cards/card.model.js';
import { createCardService } from './cards/card.service.js';
import { contestModels } from './contests/contest.model.js';
import { createContestService } from './contests/contest.service.js';
import { createConversationRepository } from './conversations/conversation.repository.js';
import { createOutbox } from './events/outbox.repository.js';
import type { EventSink } from './events/event.types.js';
import { createExportRepository } from './exports/export.repository.js';
import { createLedgerRepository } from './ledger/ledger.repository.js';
import { createHistoryRepository } from './history/history.repository.js';
import type { I18n } from './i18n/i18n.js';
import { createImportApplyRepository } from './imports/import-apply.repository.js';
import { createImportRepository } from './imports/import.repository.js';
import { createDailyStatsRepository } from './insight/daily-stats.repository.js';
import { createMemberCountsRepository } from './insight/member-counts.repository.js';
import { createInsight } from './insight/insight.js';
import { createMemberStatsRepository } from './insight/member-stats.repository.js';
import { createLedger, type LedgerHooks } from './ledger/ledger.service.js';
import { createChatLinkService } from './members/chat-link.service.js';
import { accountLinkCodeModel } from './members/account-link.model.js';
import { createAccountLinks } from './members/account-link.service.js';
import { createMemberBonuses } from './members/member-bonus.js';
import { createMemberDirectory } from './members/member-directory.js';
import { createMemberListing } from './members/member-listing.js';
import { createMemberRecentRepository } from './members/member-recent.repository.js';
import { createMemberDirectoryRepository } from './members/member-directory.repository.js';
import { memberModels } from './members/member.model.js';
import { createMemberService } from './members/member.service.js';
import { createKeyedHasher } from './members/phone-hash.js';
import { createPhoneRegistry } from './members/phone-registry.js';
import { phoneRegistryModels } from './members/phone-registry.model.js';
import { phoneProofModel } from './members/phone-proof.model.js';
import { createPhoneProofService } from './members/phone-proof.service.js';
import { createNotificationAudience } from './notifications/notification.audience.js';
import { createPartnerRepository } from './partners/partner.repository.js';
import { createPartnerService } from './partners/partner.service.js';
import { createSettingsRepository } from './programme/settings.repository.js';
import { createErasure } from './privacy/erasure.service.js';
import { createJoinFormTokens } from './enrolment/join-form.token.js';
import { createWebTill } from './till/web-till.service.js';
import { createWebJoin, type JoinLimiter, type JoinLimits } from './enrolment/web-join.service.js';
import { createPurchaseService } from './purchases/purchase.service.js';
import { createReportsRepository } from './reports/reports.repository.js';
import { createAudienceRepository } from './segments/audience.repository.js';
import { createSegmentRepository } from './segments/segment.repository.js';
import { systemClock, type Clock } from './shared/clock.js';
import { createRateCounters } from './shared/rate-counter.repository.js';
import { createSessionRepository } from './sessions/session.repository.js';
import { createSessionService, type SessionPolicy } from './sessions/session.service.js';
import { createStoreRepository } from './stores/store.repository.js';
import type { HelixPort, TwitchLog } from './twitch/helix.port.js';
import { createTwitchGiveaway, type GiveawayOptions } from './twitch/twitch-giveaway.service.js';
import { createTwitchStateRepository } from './twitch/twitch-state.repository.js';
import { createTwitchTokenRepository } from './twitch/twitch-token.repository.js';
import { createUserRepository } from './users/user.repository.js';
import { createUserService } from './users/user.service.js';
import { createStaffAdmin } from './users/staff.service.js';
import { walletModels } from './wallet/wallet.model.js';
import { createWallet, type WalletDeps } from './wallet/wallet.service.js';

/**
 * The domain, wired: every service and repository gets its dependencies as arguments (no
 * singletons), and this is the one place that turns a mongoose connection into them.
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
   * Whether the store answers filters and sorts from indexes (MongoDB: true) or only `{_id}`
   * alone (FerretDB v1: false, it reads the whole collection otherwise). It decides the card
   * writes' `version` guard (docs/ledger.md, "FerretDB"), how broadcast deliveries change state
   * (core/broadcasts/delivery-gate.repository.ts), the counters copy's write, the member list
   * and name search, and how segment pages read the audience (README, "On FerretDB v1").
   */
  guardedCardWrites?: boolean;
  /** How long a till operation may wait for its card before answering card_busy (ms). */
  ledgerBudgetMs?: number;
  /**
   * Key of the phone hashes that make bonuses once per phone (≥ 32 characters; PHONE_HASH_SECRET
   * or DATA_DIR/phone-hash-secret). Every process of one programme must use the same.
   */
  phoneHashSecret: string;
  log?: (msg: string, err?: unknown) => void;
  /** The shop's time zone (reports' days, quiet hours): IANA name. */
  timeZone?: string;
  /** Idle and absolute expiry of panel sessions (PANEL_SESSION_*); default 30 minutes and 12 hours. */
  panelSessions?: SessionPolicy;
}

export function createCore(deps: CoreDeps) {
  const clock = deps.clock ?? systemClock;
  // MongoDB answers filters from indexes; FerretDB v1 only `{_id}` alone (see guardedCardWrites).
  const indexed = deps.guardedCardWrites ?? true;
  const settingsRepo = createSettingsRepository(deps.conn, { clock, ...(deps.settingsCacheMs !== undefined ? { cacheMs: deps.settingsCacheMs } : {}) });
  const settings = () => settingsRepo.current();
  const outbox = createOutbox({ conn: deps.conn, clock });
  // Where the ledger's events go: the given sink (the queues), else the outbox collection,
  // which a worker's relay delivers. A full runtime switches to the queues once Redis is up.
  let sink: EventSink = deps.events ?? { publish: (events) => outbox.addMany(events) };
  const ledger = createLedger({
    repo: createLedgerRepository(deps.conn, { guardedCardWrites: indexed }),
    settings,
    clock,
    events: { publish: (events) => sink.publish(events) },
    ...(deps.ledgerHooks ? { hooks: deps.ledgerHooks } : {}),
    ...(deps.ledgerBudgetMs !== undefined ? { budgetMs: deps.ledgerBudgetMs } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
  const memberModelSet = memberModels(deps.conn);
  const phoneModels = phoneRegistryModels(deps.conn);
  const Cards = cardModel(deps.conn);
  const cards = createCardService({ models: { Cards, Aliases: memberModelSet.Aliases }, clock });
  const hasher = createKeyedHasher(deps.phoneHashSecret);
  const rates = createRateCounters({ conn: deps.conn, clock, hashKey: hasher.of });
  const registry = createPhoneRegistry({ Phones: phoneModels.Phones, Members: memberModelSet.Members, clock });
  const bonuses = createMemberBonuses({
    Members: memberModelSet.Members,
    BonusClaims: phoneModels.BonusClaims,
    ReferralCounters: memberModelSet.ReferralCounters,
    registry,
    ledger,
    hashPhone: hasher.phone,
    clock,
  });
  // The embedded store's member list and name search (FerretDB v1 cannot sort or filter by index).
  const listing = createMemberListing(createMemberRecentRepository(deps.conn, { enabled: !indexed }));
  const members = createMemberService({ models: memberModelSet, registry, bonuses, ledger, cards, settings, clock, listing });
  const stores = createStoreRepository(deps.conn, { clock });
  const wallets = walletModels(deps.conn);
  const partners = createPartnerService({
    repo: createPartnerRepository(deps.conn),
    settings,
    storesOf: (id) => stores.countByPartner(id),
    // Members read the partners on the back of their passes: every pass is refreshed and pushed.
    changed: () => wallets.Passes.updateMany({}, { $set: { dirty: true, dirtyAt: clock.now() } }),
    clock,
    ...(deps.settingsCacheMs !== undefined ? { cacheMs: Math.max(deps.settingsCacheMs, 1000) } : {}),
  });
  const purchases = createPurchaseService({ ledger, cards, members, settings, partners });
  const phoneProofs = createPhoneProofService({ Proofs: phoneProofModel(deps.conn), outbox, rates, clock });
  const accountLinks = createAccountLinks({ Codes: accountLinkCodeModel(deps.conn), members, hasher, rates, clock });
  const contests = createContestService({ models: contestModels(deps.conn), cards, members, links: accountLinks, rates, settings, outbox, clock });
  const conversations = createConversationRepository(deps.conn, { clock });
  const history = createHistoryRepository(deps.conn);
  const twitchTokens = createTwitchTokenRepository(deps.conn, { clock });
  const twitchState = createTwitchStateRepository(deps.conn);
  const insight = createInsight({
    repos: {
      daily: createDailyStatsRepository(deps.conn),
      memberStats: createMemberStatsRepository(deps.conn, { guarded: indexed }),
      audience: createAudienceRepository(deps.conn, { unsorted: !indexed }),
      segments: createSegmentRepository(deps.conn),
      reports: createReportsRepository(deps.conn),
      memberCounts: createMemberCountsRepository(deps.conn),
      exports: createExportRepository(deps.conn),
      imports: createImportRepository(deps.conn),
      importTarget: createImportApplyRepository(deps.conn, listing),
    },
    ledger,
    cards,
    phones: members,
    settings,
    clock,
    timeZone: deps.timeZone ?? 'Europe/Moscow',
    partnerNames: () => partners.list(),
  });
  const broadcasts = createBroadcasts({
    repos: { broadcasts: createBroadcastRepository(deps.conn), deliveries: createDeliveryRepository(deps.conn, { guarded: indexed }), recipients: createRecipientRepository(deps.conn) },
    segments: insight.segments, settings, clock, timeZone: deps.timeZone ?? 'Europe/Moscow' });
  const userRepo = createUserRepository(deps.conn);
  const users = createUserService({ repo: userRepo, storeExists: async (id) => /^[a-f0-9]{24}$/.test(id) && (await stores.findById(id)) !== null });
  const sessionRepo = createSessionRepository(deps.conn);
  const sessions = createSessionService({ repo: sessionRepo, users, clock, policy: deps.panelSessions ?? { idleMs: 30 * 60_000, maxMs: 12 * 3_600_000 } });
  const audit = createAuditLog(deps.conn, { clock });
  const directory = createMemberDirectory({ repo: createMemberDirectoryRepository(deps.conn, listing), members, cards, history, settings });
  const privacy = createErasure({ members, conversations, phoneProofs, accountLinks, contests, outbox, twitch: twitchState, wallet: wallets, rates, clock });
  return {
    clock,
    settings: settingsRepo,
    ledger,
    cards,
    members,
    purchases,
    stores,
    /** Partners (brands of an umbrella programme) and their terms. */
    partners,
    outbox,
    phoneProofs,
    /** Codes from a member's chat that link their Twitch account (typed in a giveaway instead of the card number). */
    accountLinks,
    /** Fixed-window limits counted in MongoDB (code requests, wrong contest numbers). */
    rates,
    contests,
    /** Dialogue state of the chat flows, per channel identity. */
    conversations,
    /** "Delete my data", and what expires on its own. */
    privacy,
    /** A card's movements, a page at a time (till API and bots). */
    history,
    /** Who hears of a domain event in the chats. */
    notifications: createNotificationAudience({ members }),
    /** Linking chat accounts by phone, with the phone-ownership proof where a channel needs it. */
    chatLink: createChatLinkService({ members, phoneProofs, hasher }),
    /** Stores and enrolment as the admin API and the admin CLI do them. */
    admin: createAdminService({ stores, settings: settingsRepo, members, cards, erasure: privacy, partners }),
    twitch: {
      tokens: twitchTokens,
      state: twitchState,
      /** The channel-point giveaway over a connected broadcaster's Helix. */
      giveaway: (g: { helix: HelixPort; i18n: I18n; log: TwitchLog; options?: GiveawayOptions }) =>
        createTwitchGiveaway({ contests, state: twitchState, clock, ...g }),
    },
    /**
     * Joining on the public web page (/join): attempts counted by `limiter` (the API gives its
     * Redis; else MongoDB counters), the form signed with a key derived from the phone-hash key.
     */
    webJoin: (opts: { limiter?: JoinLimiter; limits?: JoinLimits } = {}) =>
      createWebJoin({
        members,
        stores,
        settings,
        limiter: opts.limiter ?? rates,
        hash: hasher.of,
        tokens: createJoinFormTokens(createHmac('sha256', deps.phoneHashSecret).update('join-form').digest('base64url'), () => clock.now()),
        clock,
        ...(opts.limits ? { limits: opts.limits } : {}),
      }),
    /** Apple Wallet passes on this core, once the signing set-up is known (infra/runtime.ts). */
    createWallet: (w: Omit<WalletDeps, 'models' | 'Cards' | 'cards' | 'members' | 'settings' | 'partners' | 'clock'>) =>
      createWallet({ models: wallets, Cards, cards, members, settings, partners: () => partners.all(), clock, ...w }),
    /** Import, segments, reports, exports (core/insight/insight.ts). */
    insight,
    /** Broadcasts through Telegram, VK and Wallet, and the automations on the same engine (core/broadcasts). */
    broadcasts,
    /** The staff's member search and member page (the web panel). */
    directory,
    /** The web till ("Касса") of the panel: the till API's purchases and refunds for a signed-in cashier's store. */
    webTill: createWebTill({ purchases, cards, directory, members, stores, partners, settings }),
    /** Staff accounts of the web panel (roles in core/access/access.policy.ts). */
    users,
    /** Signed-in panel sessions. */
    sessions,
    /** Creating and changing staff accounts (audited; a changed user is signed out everywhere). */
    staff: createStaffAdmin({ users, sessions, audit }),
    /** Who changed what, when, before and after. */
    audit,
    /** Creates indexes (and the default settings) once at start-up. */
    async init(): Promise<void> {
      await Promise.all([
        settingsRepo.init(),
        ledger.init(),
        cards.init(),
        members.init(),
        purchases.init(),
        stores.init(),
        partners.init(),
        outbox.init(),
        phoneProofs.init(),
        rates.init(),
        accountLinks.init(),
        contests.init(),
        conversations.init(),
        twitchTokens.init(),
        twitchState.init(),
        insight.init(),
        broadcasts.init(),
        userRepo.init(),
        sessionRepo.init(),
        audit.init(),
      ]);
      await settingsRepo.current();
    },
    /**
     * The recovery pass: folds forward cards left behind their ledger entries written since
     * `since` (a process that died between recording a movement and updating the card).
     */
    async recover(since?: Date): Promise<{ checked: number; folded: number }> {
      return since ? ledger.sweep(since) : ledger.sweepSinceLast();
    },
    /** Sends the ledger's events to `events` from now on (the runtime, once the queues are up). */
    useEventSink(events: EventSink): void {
      sink = events;
    },
    close(): void {
      ledger.close();
    },
  };
}
export type Core = ReturnType<typeof createCore>;
