import { randomUUID } from 'node:crypto';
import type { CardDoc } from '../cards/card.model.js';
import type { EventSink } from '../events/event.types.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { addMonths } from '../programme/rules.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { createKeyedQueue } from '../shared/keyed-queue.js';
import type { EntryDoc } from './entry.model.js';
import { entryEvents } from './ledger.events.js';
import { planTransition, stateOf, type CardState, type PlannedLine, type PlannedTransition } from './ledger.plan.js';
import type { Contended, LedgerRepository } from './ledger.repository.js';
import type { AppliedMovement, ImportedCounters, MovementRequest, TransitionRequest } from './ledger.types.js';

/** Points at which a test may inject a crash (the hook throws: the process "dies" there). */
export type LedgerStep = 'entry_inserted' | 'events_published' | 'card_written';
export interface LedgerHooks {
  afterStep?(step: LedgerStep, key: string): void | Promise<void>;
}

export interface LedgerDeps {
  repo: LedgerRepository;
  settings: () => Promise<ProgrammeSettings>;
  clock?: Clock;
  /** Where entries' events go (the queues). Without one, nothing is told (a bare core in tests). */
  events?: EventSink;
  hooks?: LedgerHooks;
  /** How long one operation may take, queueing included, before it gives up having moved nothing. */
  budgetMs?: number;
  /** How long a writer that took the next slot is waited for before its entry is folded in by us. */
  stallMs?: number;
  log?: (msg: string, err?: unknown) => void;
}

/** What a caller builds from the card it is about to change (it may refuse with a DomainError). */
export type Builder = (card: CardDoc, settings: ProgrammeSettings) => TransitionRequest;

export interface TransactInput {
  /** The idempotency key (the entry id). */
  key: string;
  /** Reads the card to change; called inside the card's turn. */
  load: () => Promise<CardDoc>;
  /** A card read just before, used as is when the card's turn came at once (saves a read). */
  loaded?: CardDoc;
  build: Builder;
  /** Whether an entry already written under this key is this same request (a retry) or another one; `card` is the card this request resolved to. */
  same: (existing: EntryDoc, card: CardDoc) => boolean;
}

function endOfUtcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 23, 59, 59, 999));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function plannedOf(e: EntryDoc): PlannedTransition {
  return {
    entryId: e._id,
    lines: e.lines.map((l) => ({ kind: l.kind, effect: l.effect, points: l.points, ...(l.lotId ? { lotId: l.lotId } : {}), lotExpiresAt: l.lotExpiresAt ? new Date(l.lotExpiresAt) : null })),
    spendDeltaKopecks: e.spendDeltaKopecks,
    isPurchase: e.type === 'purchase',
    refund: e.refund,
    ...(e.type === 'level' ? { manualLevelId: e.manualLevelId ?? null } : {}),
    ...(e.imported ? { imported: e.imported } : {}),
  };
}

/**
 * The points ledger (docs/ledger.md has the design and the argument). A movement is:
 *   1. read the card (version v) and plan the entry against it (refusals write nothing);
 *   2. insert the entry: `_id` = idempotency key, `(card, seq = v + 1)` unique. This is the
 *      commit: from here the movement has happened, whatever fails next;
 *   3. hand its events to the sink, then fold it into the card (one update by `_id`).
 * Three commands. Within a process, work on one card is queued; across processes the unique
 * slot makes the loser re-read and re-plan. A card left behind by a crash after step 2 is
 * folded forward by whoever touches it next, the sweep, or the retry loop of a live process.
 */
export function createLedger(deps: LedgerDeps) {
  const { repo } = deps;
  const clock = deps.clock ?? systemClock;
  const budgetMs = deps.budgetMs ?? 8000;
  // Long enough for a live writer whose fold waits behind a busy store; a crash is rare.
  const stallMs = deps.stallMs ?? 3000;
  const log = deps.log ?? (() => undefined);
  const queue = createKeyedQueue();
  /**
   * The card as this process just wrote it, kept only for the next operation queued behind on
   * the same card: it starts from there instead of reading the card again. If another process
   * wrote meanwhile, its slot insert fails and it reads the card as usual.
   */
  const justWritten = new Map<string, CardDoc>();
  /**
   * Fairness across processes: a process that won a card's slot while another one waits for a
   * turn pauses its own queue for that card briefly, so the other gets in (one writer that keeps
   * winning would otherwise starve the other until its time budget ran out).
   */
  const processToken = randomUUID();
  const pauseUntil = new Map<string, number>();
  /** Cards whose fold or events failed after a commit: retried by `settleLater`. */
  const unsettled = new Set<string>();
  let retryTimer: NodeJS.Timeout | undefined;

  const hook = async (step: LedgerStep, key: string): Promise<void> => {
    await deps.hooks?.afterStep?.(step, key);
  };

  function deadlineFrom(now = Date.now()): number {
    return now + budgetMs;
  }

  function busy(): DomainError {
    return new DomainError('card_busy', 'the card is busy with other operations; nothing was done, retry', { retryAfterMs: 1000 });
  }

  /** Step 1: the entry this request would write against `card`, with the card after it. */
  function plan(card: CardDoc, t: TransitionRequest, settings: ProgrammeSettings): { entry: EntryDoc; next: CardState } {
    if (!t.correction && card.status === 'blocked') throw new DomainError('card_blocked', 'card is blocked');
    if (!t.correction && card.status === 'replaced') throw new DomainError('card_replaced', 'card was replaced', { replacedBy: card.replacedBy });
    const now = clock.now();
    // Rule: points expire a fixed time (settings.expiryMonths) after they were earned, at the end
    // of that day (UTC), so one day's earnings share a lot.
    const lotExpiresAt = endOfUtcDay(addMonths(now, settings.expiryMonths));
    const lines: PlannedLine[] = t.lines.map((l) => (l.effect === 'credit' ? { ...l, lotExpiresAt } : l));
    const planned: PlannedTransition = {
      entryId: t.key,
      lines,
      spendDeltaKopecks: t.spendDeltaKopecks ?? 0,
      isPurchase: t.type === 'purchase',
      refund: t.refund ?? null,
      ...(t.type === 'level' ? { manualLevelId: t.manualLevelId ?? null } : {}),
      ...(t.imported ? { imported: t.imported } : {}),
    };
    const p = planTransition(stateOf(card), planned, settings, now);
    const entry: EntryDoc = {
      _id: t.key,
      card: card._id,
      seq: card.version + 1,
      type: t.type,
      lines: p.lines,
      amount: p.result.amount,
      spendDeltaKopecks: planned.spendDeltaKopecks,
      ref: t.ref ?? {},
      role: t.role ?? null,
      purchase: t.purchase ?? null,
      refund: t.refund ?? null,
      ...(t.type === 'level' ? { manualLevelId: t.manualLevelId ?? null } : {}),
      ...(t.imported ? { imported: t.imported } : {}),
      memberId: card.memberId,
      result: p.result,
      createdAt: now,
    };
    return { entry, next: p.next };
  }

  /**
   * Step 2. When the insert itself fails we do not know whether it landed, so we ask: landed →
   * committed; not there → nothing moved (the error stands); cannot tell → `outcome_unknown`,
   * and the same request again returns the final result.
   */
  async function insert(entry: EntryDoc, deadline: number): Promise<'inserted' | 'taken'> {
    try {
      return await repo.insertEntry(entry);
    } catch (err) {
      for (;;) {
        let found: EntryDoc | null;
        try {
          found = await repo.entry(entry._id);
        } catch {
          if (Date.now() >= deadline) throw new DomainError('outcome_unknown', 'the store failed while recording; retry the same request to learn its result');
          await sleep(100);
          continue;
        }
        if (!found) throw err;
        const ours = found.card === entry.card && found.seq === entry.seq && new Date(found.createdAt).getTime() === entry.createdAt.getTime();
        return ours ? 'inserted' : 'taken';
      }
    }
  }

  /**
   * Step 3: events out, then the card folded forward. Failures after the commit are retried,
   * never thrown. Says whether another process is waiting for a turn on the card.
   */
  async function settle(cardId: string, entries: EntryDoc[], next: CardState): Promise<{ othersWaiting: boolean }> {
    const last = entries[entries.length - 1];
    if (!last) return { othersWaiting: false };
    try {
      if (deps.events) await deps.events.publish(entries.flatMap(entryEvents));
    } catch (err) {
      log('ledger: events not handed over, will retry', err);
      settleLater(cardId);
      return { othersWaiting: false };
    }
    await hook('events_published', last._id);
    let contended: Contended | null;
    try {
      ({ contended } = await repo.writeCard(cardId, next, last.seq, clock.now()));
    } catch (err) {
      log('ledger: card not folded forward, will retry', err);
      settleLater(cardId);
      return { othersWaiting: false };
    }
    await hook('card_written', last._id);
    // Real time, not the domain clock: this is about processes taking turns now.
    return { othersWaiting: contended !== null && contended.by !== processToken && new Date(contended.until).getTime() > Date.now() };
  }

  function settleLater(cardId: string): void {
    unsettled.add(cardId);
    retryTimer ??= setTimeout(() => {
      retryTimer = undefined;
      const ids = [...unsettled];
      unsettled.clear();
      void (async () => {
        for (const id of ids) {
          await catchUp(id, Number.MAX_SAFE_INTEGER).catch((err: unknown) => {
            log('ledger: catching up failed, will retry', err);
            settleLater(id);
          });
        }
      })();
    }, 2000);
    retryTimer.unref();
  }

  /**
   * Folds into the card every entry written beyond its version, up to `upTo` (a crash, another
   * process, or our own failed fold). `known` spares look-ups of entries already at hand (the
   * look-up by card and seq reads the whole collection on FerretDB). Returns the card as it now is.
   */
  async function catchUp(cardId: string, upTo: number, known?: Map<number, EntryDoc>): Promise<CardDoc | null> {
    const card = await repo.card(cardId);
    if (!card) return null;
    const settings = await deps.settings();
    let state = stateOf(card);
    const folded: EntryDoc[] = [];
    for (let seq = card.version + 1; seq <= upTo; seq++) {
      const e = known?.get(seq) ?? (await repo.entryAt(cardId, seq));
      if (!e) break;
      const p = planTransition(state, plannedOf(e), settings, new Date(e.createdAt), e.result.levelTo);
      if (p.result.balanceAfter !== e.result.balanceAfter) {
        throw new Error(`ledger: entry ${e._id} does not fold onto card ${cardId} v${seq - 1} (${p.result.balanceAfter} ≠ ${e.result.balanceAfter})`);
      }
      state = p.next;
      folded.push(e);
    }
    const last = folded[folded.length - 1];
    if (!last) return card;
    await settle(cardId, folded, state);
    return { ...card, ...state, version: last.seq };
  }

  /**
   * The next slot is taken by another writer (another process: ours queue per card). It
   * usually folds its entry in within a millisecond or two: look again at once, then with a
   * short jitter, and re-plan the moment the card moves. The jitter stays small on purpose:
   * the other process goes on with its own queue for this card, and a loser that slept long
   * would lose every race after it. If the card does not move (its writer died), fold the
   * entry in ourselves.
   */
  async function afterSlotTaken(card: CardDoc, deadline: number): Promise<CardDoc> {
    const giveUpWaiting = Date.now() + stallMs;
    for (let attempt = 0; Date.now() < Math.min(giveUpWaiting, deadline); attempt++) {
      if (attempt > 0) await sleep(Math.random() * Math.min(16, 2 ** (attempt - 1)));
      const fresh = await repo.card(card._id);
      if (!fresh) throw new DomainError('card_not_found', 'no such card');
      if (fresh.version > card.version) return fresh;
    }
    if (Date.now() >= deadline) throw busy();
    return (await catchUp(card._id, card.version + 1)) ?? card;
  }

  function toApplied(e: EntryDoc, replayed: boolean): AppliedMovement {
    return { ...e.result, entryId: e._id, key: e._id, card: e.card, type: e.type, seq: e.seq, lines: e.lines, replayed };
  }

  /** Folds forward the cards some of these entries are ahead of; returns how many entries it folded. */
  async function foldBehind(entries: EntryDoc[]): Promise<number> {
    const byCard = new Map<string, Map<number, EntryDoc>>();
    for (const e of entries) {
      const m = byCard.get(e.card) ?? new Map<number, EntryDoc>();
      m.set(e.seq, e);
      byCard.set(e.card, m);
    }
    let folded = 0;
    for (const [cardId, known] of byCard) {
      const newest = Math.max(...known.keys());
      try {
        await queue.run(cardId, deadlineFrom(), async () => {
          const card = await repo.card(cardId);
          if (card && card.version < newest) {
            const after = await catchUp(cardId, newest, known);
            folded += (after?.version ?? card.version) - card.version;
          }
        });
      } catch (err) {
        log(`ledger sweep: card ${cardId} not caught up this time`, err);
      }
    }
    return folded;
  }

  /**
   * One transition of a card, exactly once per key: plan, commit, settle. Returns the entry
   * written now, or the one written earlier under the same key (`replayed`).
   */
  async function transact(input: TransactInput, cardKey: string): Promise<{ entry: EntryDoc; replayed: boolean }> {
    const deadline = deadlineFrom();
    const settings = await deps.settings();
    return queue.run(cardKey, deadline, async (waited, followed) => {
      const handedOn = justWritten.get(cardKey);
      justWritten.delete(cardKey);
      const pause = (pauseUntil.get(cardKey) ?? 0) - Date.now();
      pauseUntil.delete(cardKey);
      if (pause > 0) await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
      let card = !waited && input.loaded ? input.loaded : waited && handedOn && pause <= 0 ? handedOn : await input.load();
      let marked = false;
      for (;;) {
        if (Date.now() >= deadline) throw busy();
        let planned: { entry: EntryDoc; next: CardState };
        try {
          planned = plan(card, input.build(card, settings), settings);
        } catch (err) {
          // A refusal may be a retry of something recorded when it was still allowed.
          const existing = err instanceof DomainError ? await repo.entry(input.key) : null;
          if (existing) return replay(existing, card);
          throw err;
        }
        const outcome = await insert(planned.entry, deadline);
        if (outcome === 'inserted') {
          await hook('entry_inserted', planned.entry._id);
          const { othersWaiting } = await settle(card._id, [planned.entry], planned.next);
          if (othersWaiting) pauseUntil.set(cardKey, Date.now() + 20 + Math.random() * 20);
          else if (followed()) justWritten.set(cardKey, { ...card, ...planned.next, version: planned.entry.seq, updatedAt: planned.entry.createdAt });
          return { entry: planned.entry, replayed: false };
        }
        const existing = await repo.entry(input.key);
        if (existing) return replay(existing, card);
        if (!marked) {
          marked = true;
          await repo.markContended(card._id, { by: processToken, until: new Date(Date.now() + 1000) }).catch((err: unknown) => log('ledger: could not ask for a turn', err));
        }
        card = await afterSlotTaken(card, deadline);
      }
    });

    async function replay(existing: EntryDoc, card: CardDoc): Promise<{ entry: EntryDoc; replayed: boolean }> {
      if (!input.same(existing, card)) throw new DomainError('idempotency_conflict', `key ${input.key} was used for another operation`);
      // Recorded, but its writer may have died before the card caught up: catch up now.
      if (existing.card === card._id && existing.seq > card.version) await catchUp(card._id, existing.seq);
      return { entry: existing, replayed: true };
    }
  }

  async function cardOf(id: string): Promise<CardDoc> {
    const c = await repo.card(id);
    if (!c) throw new DomainError('card_not_found', `card ${id} not found`);
    return c;
  }

  return {
    async init(): Promise<void> {
      await repo.init();
    },

    transact: (input: TransactInput, cardKey: string) => transact(input, cardKey),
    toApplied,

    /** A single movement (welcome, referral, adjustment, import), once per key. */
    async apply(mv: MovementRequest): Promise<AppliedMovement> {
      if (!Number.isSafeInteger(mv.points) || mv.points < 0) throw new DomainError('validation_failed', 'points must be a non-negative integer');
      const kind = mv.effect;
      const { entry, replayed } = await transact(
        {
          key: mv.key,
          load: () => cardOf(mv.card),
          build: () => ({
            key: mv.key,
            card: mv.card,
            type: mv.type,
            lines: [{ kind, effect: mv.effect, points: mv.points }],
            ...(mv.ref ? { ref: mv.ref } : {}),
            ...(mv.role ? { role: mv.role } : {}),
            // Manual adjustments and imports keep the books right even on a blocked card.
            correction: mv.type === 'adjustment' || mv.type === 'import',
          }),
          same: (e) => e.card === mv.card && e.type === mv.type && e.lines.length === 1 && e.lines[0]?.effect === mv.effect && e.lines[0].points === mv.points,
        },
        mv.card,
      );
      return toApplied(entry, replayed);
    },

    /** A manual adjustment by an admin: signed points, with the reason and the author recorded. */
    adjust(input: { key: string; card: string; points: number; reason: string; author: string }): Promise<AppliedMovement> {
      if (!Number.isSafeInteger(input.points) || input.points === 0) throw new DomainError('validation_failed', 'points must be a non-zero integer');
      return this.apply({
        key: `adjust:${input.key}`,
        card: input.card,
        type: 'adjustment',
        effect: input.points > 0 ? 'credit' : 'debit',
        points: Math.abs(input.points),
        ref: { reason: input.reason, author: input.author },
      });
    },

    /** Sets or clears a hand-assigned level (staff): an entry of its own, so the level is part of the fold. */
    async setLevel(input: { card: string; levelId: string | null; author: string }): Promise<AppliedMovement> {
      const settings = await deps.settings();
      if (input.levelId !== null && !settings.manualLevels.some((l) => l.id === input.levelId) && !settings.levels.some((l) => l.id === input.levelId)) {
        throw new DomainError('validation_failed', `unknown level ${input.levelId}`);
      }
      const key = `level:${input.card}:${randomUUID()}`;
      const { entry } = await transact(
        {
          key,
          load: () => cardOf(input.card),
          build: () => ({ key, card: input.card, type: 'level', lines: [], manualLevelId: input.levelId, ref: { author: input.author }, correction: true }),
          same: () => false,
        },
        input.card,
      );
      return toApplied(entry, false);
    },

    /**
     * What an import of the shop's old base says the customer did before (purchases, spend,
     * last purchase): the card's counters move by the difference from the previous import's
     * totals, in one transition (level recomputed from the spend). Null when nothing changes.
     */
    async importCounters(input: { card: string; importId: string; totals: ImportedCounters }): Promise<AppliedMovement | null> {
      const key = `import-counters:${input.importId}:${input.card}`;
      const same = (a: ImportedCounters | null, b: ImportedCounters): boolean =>
        (a?.purchases ?? 0) === b.purchases && (a?.spentKopecks ?? 0) === b.spentKopecks && (a?.lastPurchaseAt ? new Date(a.lastPurchaseAt).getTime() : null) === (b.lastPurchaseAt?.getTime() ?? null);
      try {
        const { entry, replayed } = await transact(
          {
            key,
            load: () => cardOf(input.card),
            build: (card) => {
              if (same(card.importedCounters, input.totals)) throw new DomainError('not_found', 'nothing to import');
              return { key, card: input.card, type: 'import', lines: [], imported: input.totals, ref: { reason: `import:${input.importId}`, author: 'import' }, correction: true };
            },
            same: (e) => e.card === input.card && e.type === 'import',
          },
          input.card,
        );
        return replayed ? null : toApplied(entry, false);
      } catch (err) {
        if (err instanceof DomainError && err.code === 'not_found') return null;
        throw err;
      }
    },

    /** Expires the due lots of one card as one entry (the scheduled expiry job); null when none were due. */
    async expireCard(cardId: string): Promise<AppliedMovement | null> {
      const now = clock.now();
      const key = `expiry:${cardId}:${now.getTime()}`;
      try {
        const { entry, replayed } = await transact(
          {
            key,
            load: () => cardOf(cardId),
            build: (card) => {
              const due = card.lots.filter((l) => new Date(l.expiresAt).getTime() <= now.getTime());
              if (due.length === 0) throw new DomainError('not_found', 'nothing to expire');
              return { key, card: cardId, type: 'expiry', lines: due.map((l) => ({ kind: 'expiry' as const, effect: 'expire' as const, points: l.remaining, lotId: l.entryId })), correction: true };
            },
            same: (e) => e.card === cardId && e.type === 'expiry',
          },
          cardId,
        );
        return replayed ? null : toApplied(entry, false);
      } catch (err) {
        if (err instanceof DomainError && err.code === 'not_found') return null;
        throw err;
      }
    },

    /** Writes expiry entries for every card holding a lot past its date; returns how many cards. */
    async expireDue(limit = 500): Promise<number> {
      let n = 0;
      for (const c of await repo.cardsWithDueLots(clock.now(), limit)) {
        if (await this.expireCard(c._id)) n++;
      }
      return n;
    },

    /**
     * The recovery sweep: folds forward any card left behind its entries written since `since`
     * (a process that died between its commit and its fold). Returns what it did.
     */
    async sweep(since: Date, pageSize = 2000): Promise<{ checked: number; folded: number }> {
      let checked = 0;
      let folded = 0;
      let from = since;
      for (;;) {
        const entries = await repo.entriesSince(from, pageSize);
        checked += entries.length;
        folded += await foldBehind(entries);
        const last = entries[entries.length - 1];
        if (entries.length < pageSize || !last) break;
        // The next page starts at the last instant seen (entries of that instant are checked twice: harmless).
        const next = new Date(last.createdAt);
        if (next.getTime() === from.getTime()) break;
        from = next;
      }
      return { checked, folded };
    },

    /**
     * The scheduled sweep: from a little before the previous sweep started (a margin for
     * writers still in flight then), so a crash while the system was down for days is covered too.
     */
    async sweepSinceLast(marginMs = 10 * 60_000): Promise<{ checked: number; folded: number }> {
      const startedAt = clock.now();
      const last = await repo.sweptAt();
      const r = await this.sweep(last ? new Date(last.getTime() - marginMs) : new Date(0));
      await repo.setSweptAt(startedAt);
      return r;
    },

    async history(card: string, limit: number, beforeSeq?: number): Promise<EntryDoc[]> {
      return repo.history(card, limit, beforeSeq);
    },

    /** Σ of a card's entry amounts: equals its balance once the card has caught up. */
    appliedSum(card: string): Promise<number> {
      return repo.sum({ card });
    },

    /** Sum of entry amounts matching a filter (reports, referral stats). */
    sumFor(filter: Record<string, unknown>): Promise<number> {
      return repo.sum(filter);
    },

    findByKey(key: string): Promise<EntryDoc | null> {
      return repo.entry(key);
    },

    cardById(id: string): Promise<CardDoc | null> {
      return repo.card(id);
    },

    /** Stops the retry timer (shutdown). */
    close(): void {
      clearTimeout(retryTimer);
    },
  };
}
export type Ledger = ReturnType<typeof createLedger>;
