import { randomBytes } from 'node:crypto';
import type { CardService } from '../cards/card.service.js';
import type { AccountLinks } from '../members/account-link.service.js';
import type { MemberService } from '../members/member.service.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import type { RateCounters, RateLimit } from '../shared/rate-counter.repository.js';
import { commitmentOf, sortEntries } from './contest.draw.js';
import { createContestEntry } from './contest.entry.js';
import { createContestLifecycle, type ContestOutbox, type LifecycleTimings } from './contest.lifecycle.js';
import { CONTEST_CHANNELS, type ContestChannel, type ContestModels, type ContestDoc, type ContestEntryDoc, type ContestWinner } from './contest.model.js';
import { createContestThrottle, silentLog, type ContestLog, type ThrottleLimits } from './contest.throttle.js';
import { adminView, entriesCsv, publicRecord, type AdminContestView, type PublicContestRecord, type PublicEntryList } from './contest.views.js';

export interface NewContest {
  title: string;
  description?: string;
  prizes: number;
  channels: ContestChannel[];
  /** Default: now. */
  opensAt?: Date;
  closesAt: Date;
  /** A spend level id (settings.levels): the card must have reached it. */
  minLevel?: string | null;
  /** Only members registered before this moment may enter. */
  joinedBefore?: Date | null;
}

export interface DrawOutcome {
  contest: AdminContestView;
  /** With member id, channel and account: where to tell each winner. */
  winners: ContestWinner[];
}

export const MAX_PRIZES = 1000;
/** Entries per page of the public list. */
export const ENTRY_PAGE_DEFAULT = 500;
export const ENTRY_PAGE_MAX = 1000;
/** What an erased member's entries and wins name as their account. */
export const ERASED_ACCOUNT = 'erased';

/** Why a new contest was refused: in the error's details, so an adapter can say it in the admin's language. */
export type ContestInvalidReason = 'title_length' | 'description_length' | 'prizes_range' | 'channels' | 'date' | 'closes_before_opens' | 'closes_past' | 'min_level';

function invalid(field: string, reason: ContestInvalidReason, message: string, extra: Record<string, unknown> = {}): DomainError {
  return new DomainError('validation_failed', `${field}: ${message}`, { field, reason, ...extra });
}

function validDate(d: Date | null | undefined, field: string): void {
  if (d && Number.isNaN(d.getTime())) throw invalid(field, 'date', 'not a valid date');
}

/**
 * Contests: giveaways on social networks that only card holders may enter, by typing their
 * card number. Channel-agnostic: bots call enter(); admins (API, or a bot's admin menu)
 * create, watch the live count, close and draw.
 */
export function createContestService(deps: {
  models: ContestModels;
  cards: Pick<CardService, 'resolve'>;
  members: Pick<MemberService, 'byId' | 'findByIdentity'>;
  links: Pick<AccountLinks, 'redeem'>;
  rates: Pick<RateCounters, 'hit' | 'peek'>;
  settings: () => Promise<ProgrammeSettings>;
  outbox: ContestOutbox;
  clock?: Clock;
  log?: ContestLog;
  throttle?: ThrottleLimits;
  /** Wrong numbers per contest from all accounts together (default DEFAULT_CONTEST_WRONG_CAP). */
  wrongCap?: RateLimit;
  timings?: Partial<LifecycleTimings>;
}) {
  const { models } = deps;
  const { Contests, Entries, Accounts, Throttle } = models;
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? silentLog;
  const lifecycle = createContestLifecycle({ models, clock, log, outbox: deps.outbox, ...(deps.timings ? { timings: deps.timings } : {}) });
  const throttle = createContestThrottle({ Throttle, clock, log, ...(deps.throttle ? { limits: deps.throttle } : {}) });
  const entry = createContestEntry({
    models,
    lifecycle,
    throttle,
    cards: deps.cards,
    members: deps.members,
    links: deps.links,
    rates: deps.rates,
    ...(deps.wrongCap ? { wrongCap: deps.wrongCap } : {}),
    settings: deps.settings,
    clock,
  });

  const count = (contestId: string): Promise<number> => Entries.countDocuments({ contestId });

  async function view(c: ContestDoc): Promise<AdminContestView> {
    return adminView(c, clock.now(), c.entryCount ?? (await count(c._id)));
  }

  async function validate(input: NewContest, now: Date): Promise<Required<NewContest>> {
    const title = input.title.replace(/\s+/g, ' ').trim();
    if (title.length < 1 || title.length > 120) throw invalid('title', 'title_length', 'must be 1–120 characters', { max: 120 });
    const description = (input.description ?? '').trim();
    if (description.length > 2000) throw invalid('description', 'description_length', 'must be at most 2000 characters', { max: 2000 });
    if (!Number.isSafeInteger(input.prizes) || input.prizes < 1 || input.prizes > MAX_PRIZES) throw invalid('prizes', 'prizes_range', `must be an integer 1–${MAX_PRIZES}`, { max: MAX_PRIZES });
    const channels = [...new Set(input.channels)];
    if (channels.length === 0 || channels.some((ch) => !(CONTEST_CHANNELS as readonly string[]).includes(ch))) {
      throw invalid('channels', 'channels', `must be one or more of ${CONTEST_CHANNELS.join(', ')}`);
    }
    validDate(input.opensAt, 'opensAt');
    validDate(input.closesAt, 'closesAt');
    validDate(input.joinedBefore, 'joinedBefore');
    const opensAt = input.opensAt ?? now;
    if (input.closesAt <= opensAt) throw invalid('closesAt', 'closes_before_opens', 'must be after opensAt');
    if (input.closesAt <= now) throw invalid('closesAt', 'closes_past', 'must be in the future');
    const minLevel = input.minLevel ?? null;
    if (minLevel !== null) {
      const levels = (await deps.settings()).levels.map((l) => l.id);
      if (!levels.includes(minLevel)) throw invalid('minLevel', 'min_level', `must be a spend level: ${levels.join(', ')}`);
    }
    return { title, description, prizes: input.prizes, channels, opensAt, closesAt: input.closesAt, minLevel, joinedBefore: input.joinedBefore ?? null };
  }

  return {
    enter: entry.enter,
    /** Closes now: after the closing time, or before it with a reason that is published. */
    close: async (id: string, reason?: string): Promise<AdminContestView> => view(await lifecycle.close(id, reason)),
    closeDue: lifecycle.closeDue,
    count,

    async init(): Promise<void> {
      await Promise.all([Contests.createIndexes(), Entries.createIndexes(), Accounts.createIndexes(), Throttle.createIndexes()]);
    },

    /** Creates a contest and commits to its secret seed: the commitment is public from now on. */
    async create(input: NewContest): Promise<{ id: string; commitment: string }> {
      const now = clock.now();
      const v = await validate(input, now);
      // The seed decides the winners: a CSPRNG, never Math.random, and secret until the draw.
      const seed = randomBytes(32).toString('hex');
      const doc: ContestDoc = {
        _id: randomBytes(12).toString('hex'),
        ...v,
        seed,
        commitment: commitmentOf(seed),
        inflight: [],
        closedAt: null,
        sealLockToken: null,
        sealLockUntil: null,
        entriesDigest: null,
        entryCount: null,
        sealedAt: null,
        drawnAt: null,
        winners: null,
        createdAt: now,
        updatedAt: now,
      };
      await insertRaw(Contests, doc);
      log.info({ contestId: doc._id, commitment: doc.commitment, closesAt: v.closesAt.toISOString() }, 'contest created');
      return { id: doc._id, commitment: doc.commitment };
    },

    /** The admin's view, with the live entry count. */
    async get(id: string): Promise<AdminContestView> {
      return view(await lifecycle.get(id));
    },

    /** Newest first; `open` gives those taking entries now (optionally on one channel), e.g. for a bot's menu. */
    async list(filter: { open?: boolean; channel?: ContestChannel; limit?: number } = {}): Promise<AdminContestView[]> {
      const now = clock.now();
      const query = {
        ...(filter.open ? { closedAt: null, opensAt: { $lte: now }, closesAt: { $gt: now } } : {}),
        ...(filter.channel ? { channels: filter.channel } : {}),
      };
      const docs = await Contests.find(query).sort({ createdAt: -1 }).limit(Math.min(filter.limit ?? 50, 200)).lean<ContestDoc[]>();
      return Promise.all(docs.map(view));
    },

    async publicRecord(id: string): Promise<PublicContestRecord> {
      return publicRecord(await lifecycle.get(id), clock.now());
    },

    /**
     * A page of the entries anyone may see (masked), sorted by id, after `cursor` (the last id
     * of the page before); the frozen list once the contest is sealed.
     */
    async publicEntries(id: string, page: { cursor?: string | undefined; limit?: number | undefined } = {}): Promise<PublicEntryList> {
      const c = await lifecycle.get(id);
      const sealed = c.entriesDigest !== null;
      const limit = Math.min(Math.max(page.limit ?? ENTRY_PAGE_DEFAULT, 1), ENTRY_PAGE_MAX);
      const docs = await Entries.find(
        { contestId: id, ...(sealed ? { included: true } : {}), ...(page.cursor ? { publicId: { $gt: page.cursor } } : {}) },
        { publicId: 1, masked: 1 },
      )
        .sort({ publicId: 1 })
        .limit(limit + 1)
        .lean<ContestEntryDoc[]>();
      const entries = sortEntries(docs.map((e) => ({ id: e.publicId, masked: e.masked }))).slice(0, limit);
      return { contestId: id, sealed, entriesDigest: c.entriesDigest, entries, nextCursor: docs.length > limit ? (entries.at(-1)?.id ?? null) : null };
    },

    /** Closes if needed and draws; repeating it answers the same winners. */
    async draw(id: string): Promise<DrawOutcome> {
      const c = await lifecycle.draw(id);
      return { contest: await view(c), winners: c.winners };
    },

    /**
     * Erasure: the member's entries and wins keep their public id and masked number (the
     * published list and its digest stay verifiable) but lose the member id and the account;
     * the per-account claims and wrong-number counters of their accounts go.
     */
    async forgetMember(memberId: string, accounts: readonly string[]): Promise<void> {
      await Entries.updateMany({ $or: [{ memberId }, { account: { $in: [...accounts] } }] }, { $set: { memberId: null, account: ERASED_ACCOUNT } });
      if (accounts.length > 0) {
        // The claims' ids are `<contest>|<account>`: one read of them all (erasure is rare), then by _id.
        const claims = await Accounts.find({}, { _id: 1 }).lean<{ _id: string }[]>();
        const mine = claims.filter((cl) => accounts.some((a) => cl._id.endsWith(`|${a}`))).map((cl) => cl._id);
        if (mine.length > 0) await Accounts.deleteMany({ _id: { $in: mine } });
      }
      await throttle.forget(accounts);
      const won = await Contests.find({ winners: { $ne: null } }, { winners: 1 }).lean<Pick<ContestDoc, '_id' | 'winners'>[]>();
      for (const c of won) {
        const winners = c.winners ?? [];
        if (!winners.some((w) => w.memberId === memberId || accounts.includes(w.account))) continue;
        const anonymous = winners.map((w) => (w.memberId === memberId || accounts.includes(w.account) ? { ...w, memberId: null, account: ERASED_ACCOUNT } : w));
        await Contests.updateOne({ _id: c._id }, { $set: { winners: anonymous } });
      }
    },

    async entriesCsv(id: string): Promise<string> {
      const c = await lifecycle.get(id);
      return entriesCsv(c, await Entries.find({ contestId: id }).lean<ContestEntryDoc[]>());
    },

  };
}
export type ContestService = ReturnType<typeof createContestService>;
