import { randomBytes } from 'node:crypto';
import type { DomainEvent } from '../events/event.types.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { drawWinners, entriesDigest } from './contest.draw.js';
import type { ContestDoc, ContestEntryDoc, ContestModels, ContestWinner } from './contest.model.js';
import type { ContestLog } from './contest.throttle.js';

/** The `contest.won` domain event (one per winner, id `contest-won:<contestId>:<place>`). */
export type ContestWonEvent = Extract<DomainEvent, { type: 'contest.won' }>;

/** The outbox as contests use it (core.outbox fits). */
export interface ContestOutbox {
  add(event: ContestWonEvent): Promise<void>;
}

export interface LifecycleTimings {
  /** An entry holds the gate at most this long; a token older than this belongs to a dead process. */
  gateTtlMs: number;
  /** How long (real time) a close waits for entries being written, and for another process sealing. */
  maxWaitMs: number;
}
const DEFAULT_TIMINGS: LifecycleTimings = { gateTtlMs: 60_000, maxWaitMs: 15_000 };
const MARK_CHUNK = 500;

const token = (): string => randomBytes(8).toString('hex');
export const CLOSE_REASON_MAX = 500;
const expiryOf = (t: string): number => Number(t.split('.')[0]);

/**
 * Closing, sealing and drawing, on a standalone MongoDB (no transactions). The contest
 * document is the point where entries and the close meet:
 *  - an entry takes a gate token on it with a conditional update (still open?) before
 *    writing and gives it back after, so that is atomic with the close;
 *  - a close sets closedAt, waits until no live token is left (every entry that got through
 *    the gate is written), then seals under a lock: reads the entries, marks them included,
 *    and stores their digest. What it read is the list the draw and the public record use.
 */
export function createContestLifecycle(deps: {
  models: ContestModels;
  clock: Clock;
  log: ContestLog;
  outbox: ContestOutbox;
  timings?: Partial<LifecycleTimings>;
}) {
  const { Contests, Entries } = deps.models;
  const { clock, log } = deps;
  const timings = { ...DEFAULT_TIMINGS, ...deps.timings };

  async function get(id: string): Promise<ContestDoc> {
    const c = await Contests.findById(id).lean<ContestDoc>();
    if (!c) throw new DomainError('contest_not_found', 'no such contest', { contestId: id });
    return c;
  }

  const gate = {
    /** A token when the contest is open right now, else null. */
    async acquire(contestId: string): Promise<string | null> {
      const now = clock.now();
      const t = `${now.getTime() + timings.gateTtlMs}.${token()}`;
      const r = await Contests.updateOne(
        { _id: contestId, closedAt: null, opensAt: { $lte: now }, closesAt: { $gt: now } },
        { $push: { inflight: t } },
      );
      return r.matchedCount === 1 ? t : null;
    },
    async release(contestId: string, t: string): Promise<void> {
      await Contests.updateOne({ _id: contestId }, { $pull: { inflight: t } });
    },
  };

  /** Waits until no live gate token is left; dead ones (expired) are dropped. */
  async function drain(contestId: string): Promise<void> {
    const started = performance.now();
    for (;;) {
      const c = await get(contestId);
      const now = clock.now().getTime();
      const expired = c.inflight.filter((t) => !(expiryOf(t) > now));
      // One $pull per value: FerretDB v1 ignores $pull with an $in condition.
      for (const t of expired) await Contests.updateOne({ _id: contestId }, { $pull: { inflight: t } });
      if (c.inflight.length === expired.length) return;
      if (performance.now() - started > timings.maxWaitMs) {
        log.warn({ contestId, inflight: c.inflight.length - expired.length }, 'contest close: entries still in flight, sealing without them');
        return;
      }
      await sleep(20);
    }
  }

  async function markIncluded(contestId: string, ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += MARK_CHUNK) {
      await Entries.updateMany({ contestId, _id: { $in: ids.slice(i, i + MARK_CHUNK) } }, { $set: { included: true } });
    }
  }

  /** Freezes the entry list under a lock (one sealer at a time; a crashed one's lock expires). */
  async function seal(contestId: string): Promise<ContestDoc> {
    const started = performance.now();
    for (;;) {
      const c = await get(contestId);
      if (c.entriesDigest) return c;
      const now = clock.now();
      const mine = token();
      const locked = await Contests.updateOne(
        { _id: contestId, entriesDigest: null, $or: [{ sealLockUntil: null }, { sealLockUntil: { $lte: now } }] },
        { $set: { sealLockToken: mine, sealLockUntil: new Date(now.getTime() + timings.gateTtlMs) } },
      );
      if (locked.matchedCount === 1) {
        const entries = await Entries.find({ contestId }, { publicId: 1, masked: 1 }).lean<Pick<ContestEntryDoc, '_id' | 'publicId' | 'masked'>[]>();
        const digest = entriesDigest(contestId, entries.map((e) => ({ id: e.publicId, masked: e.masked })));
        await markIncluded(contestId, entries.map((e) => e._id));
        const sealed = await Contests.findOneAndUpdate(
          { _id: contestId, sealLockToken: mine, entriesDigest: null },
          { $set: { entriesDigest: digest, entryCount: entries.length, sealedAt: now, sealLockToken: null, sealLockUntil: null, updatedAt: now } },
          { returnDocument: 'after' },
        ).lean<ContestDoc>();
        if (sealed) {
          log.info({ contestId, entries: entries.length, entriesDigest: digest }, 'contest sealed');
          return sealed;
        }
      } else if (performance.now() - started > timings.maxWaitMs) {
        throw new Error(`contest ${contestId} is being sealed by another process`);
      } else {
        await sleep(20);
      }
    }
  }

  /**
   * Stops entries and freezes the list; repeating it changes nothing. Before the closing time
   * fixed at creation only with a reason, which is published with the record.
   */
  async function close(contestId: string, reason?: string): Promise<ContestDoc> {
    const c = await get(contestId);
    if (c.entriesDigest) return c;
    if (!c.closedAt) {
      const now = clock.now();
      const early = now.getTime() < c.closesAt.getTime();
      const why = reason?.replace(/\s+/g, ' ').trim() ?? '';
      if (early && (why.length < 1 || why.length > CLOSE_REASON_MAX)) {
        throw new DomainError('validation_failed', `closing before ${c.closesAt.toISOString()} needs a reason (1–${CLOSE_REASON_MAX} characters), published with the record`, {
          field: 'reason',
          reason: 'early_close_reason',
          closesAt: c.closesAt.toISOString(),
        });
      }
      // A contest closed after its closing time counts as closed at that time.
      const at = early ? now : c.closesAt;
      await Contests.updateOne({ _id: contestId, closedAt: null }, { $set: { closedAt: at, closeReason: early ? why : null, updatedAt: now } });
      if (early) log.warn({ contestId, closesAt: c.closesAt.toISOString(), reason: why }, 'contest closed before its closing time');
    }
    await drain(contestId);
    return seal(contestId);
  }

  function wonEvent(c: ContestDoc, w: ContestWinner): ContestWonEvent {
    return {
      id: `contest-won:${c._id}:${w.place}`,
      type: 'contest.won',
      at: (c.drawnAt ?? clock.now()).toISOString(),
      card: w.card,
      memberId: w.memberId,
      data: { contestId: c._id, title: c.title, place: w.place, channel: w.channel, account: w.account },
    };
  }

  /**
   * Once the closing time has passed (or the contest was closed early, with its published
   * reason), seals if needed, then picks the winners from the seed and the frozen list. Repeating it
   * returns the same winners; the contest.won events are added again, which the outbox
   * ignores by id (that also finishes a draw that crashed before adding them).
   */
  async function draw(contestId: string): Promise<ContestDoc & { winners: ContestWinner[] }> {
    const before = await get(contestId);
    if (!before.closedAt && clock.now().getTime() < before.closesAt.getTime()) {
      throw new DomainError('contest_still_open', 'the contest takes entries until its closing time; close it early with a reason first', { closesAt: before.closesAt.toISOString() });
    }
    let c = await close(contestId);
    if (!c.drawnAt || !c.winners) {
      const entries = await Entries.find({ contestId, included: true }).lean<ContestEntryDoc[]>();
      const list = entries.map((e) => ({ id: e.publicId, masked: e.masked, entry: e }));
      if (entriesDigest(contestId, list) !== c.entriesDigest) throw new Error(`contest ${contestId}: the sealed entry list changed`);
      const winners: ContestWinner[] = drawWinners({ seed: c.seed, entriesDigest: c.entriesDigest ?? '', entries: list, prizes: c.prizes }).map((w) => ({
        place: w.place,
        entryId: w.id,
        masked: w.masked,
        card: w.entry.card,
        memberId: w.entry.memberId,
        channel: w.entry.channel,
        account: w.entry.account,
      }));
      const now = clock.now();
      await Contests.updateOne({ _id: contestId, drawnAt: null }, { $set: { drawnAt: now, winners, updatedAt: now } });
      c = await get(contestId);
      log.info({ contestId, winners: winners.length }, 'contest drawn');
    }
    const winners = c.winners ?? [];
    for (const w of winners) await deps.outbox.add(wonEvent(c, w));
    return { ...c, winners };
  }

  /** Closes every contest past its closing time (for a scheduled job); returns their ids. */
  async function closeDue(): Promise<string[]> {
    const due = await Contests.find({ entriesDigest: null, closesAt: { $lte: clock.now() } }, { _id: 1 }).lean<{ _id: string }[]>();
    for (const { _id } of due) await close(_id);
    return due.map((d) => d._id);
  }

  return { get, gate, close, draw, closeDue };
}
export type ContestLifecycle = ReturnType<typeof createContestLifecycle>;
