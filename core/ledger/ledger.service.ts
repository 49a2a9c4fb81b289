import type { Connection } from 'mongoose';
import { cardModel, type CardDoc, type CardMark } from '../cards/card.model.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { addMonths } from '../programme/rules.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError, ERROR_CODES, isDuplicateKey, type ErrorCode } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import { entryModel, type EntryDoc } from './entry.model.js';
import { planMovement, type CardState } from './ledger.plan.js';
import type { AppliedMovement, EntryType, MovementRequest, MovementResult } from './ledger.types.js';

/** How many applied entries a card remembers for recovery (see docs/ledger.md). */
export const MARKS_KEPT = 16;
const MAX_ATTEMPTS = 50;
const CORRECTIONS = new Set<EntryType>(['refund_clawback', 'refund_return', 'expiry', 'adjustment']);

/** Points at which a test may inject a crash; production passes nothing. */
export type LedgerStep = 'entry_inserted' | 'card_updated';
export interface LedgerHooks {
  afterStep?(step: LedgerStep, key: string): void | Promise<void>;
}

export interface LedgerDeps {
  conn: Connection;
  settings: () => Promise<ProgrammeSettings>;
  clock?: Clock;
  hooks?: LedgerHooks;
}

function endOfUtcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 23, 59, 59, 999));
}

function cardState(c: CardDoc): CardState {
  return {
    balance: c.balance,
    debt: c.debt,
    spentKopecks: c.spentKopecks,
    levelId: c.levelId,
    manualLevelId: c.manualLevelId,
    lots: c.lots.map((l) => ({ entryId: l.entryId, earnedAt: new Date(l.earnedAt), expiresAt: new Date(l.expiresAt), remaining: l.remaining })),
    earnedTotal: c.earnedTotal,
    spentPointsTotal: c.spentPointsTotal,
  };
}

function sameRequest(e: EntryDoc, mv: MovementRequest): boolean {
  return e.card === mv.card && e.type === mv.type && e.effect === mv.effect && e.points === mv.points && (e.spendDeltaKopecks ?? 0) === (mv.spendDeltaKopecks ?? 0);
}

function asErrorCode(s: string | null): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(s ?? '') ? (s as ErrorCode) : 'validation_failed';
}

/**
 * The points ledger. A movement is three writes, each a single-document atomic operation:
 *   1. insert the entry `pending` (its unique key is the idempotency claim),
 *   2. update the card guarded by its version, remembering the entry id in `marks`,
 *   3. set the entry `applied` with the result (this also queues it for the outbox relay).
 * A crash between any two is finished by `recover()`. See docs/ledger.md for the argument.
 */
export function createLedger(deps: LedgerDeps) {
  const Cards = cardModel(deps.conn);
  const Entries = entryModel(deps.conn);
  const clock = deps.clock ?? systemClock;
  const hook = async (step: LedgerStep, key: string): Promise<void> => {
    await deps.hooks?.afterStep?.(step, key);
  };

  function toApplied(e: EntryDoc, result: MovementResult, replayed: boolean): AppliedMovement {
    return { ...result, entryId: e._id, key: e._id, card: e.card, type: e.type, replayed };
  }

  /** Step 1: claim the key. Returns the entry to work on (new or a pending one left earlier). */
  async function claim(mv: MovementRequest, settings: ProgrammeSettings): Promise<{ entry: EntryDoc; fresh: boolean }> {
    const now = clock.now();
    const doc: EntryDoc = {
      _id: mv.key,
      card: mv.card,
      type: mv.type,
      effect: mv.effect,
      points: mv.points,
      spendDeltaKopecks: mv.spendDeltaKopecks ?? 0,
      lotId: mv.lotId ?? null,
      // Rule: points expire a fixed time (settings.expiryMonths) after they were earned, at the
      // end of that day (UTC), so one day's earnings share a lot.
      lotExpiresAt: mv.effect === 'credit' ? endOfUtcDay(addMonths(now, settings.expiryMonths)) : null,
      ref: mv.ref ?? {},
      status: 'pending',
      amount: 0,
      result: null,
      error: null,
      published: false,
      createdAt: now,
      appliedAt: null,
    };
    try {
      await insertRaw(Entries, doc);
      return { entry: doc, fresh: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await Entries.findById(mv.key).lean<EntryDoc>();
      if (!existing) throw err;
      if (!sameRequest(existing, mv)) throw new DomainError('idempotency_conflict', `key ${mv.key} was used for another movement`);
      return { entry: existing, fresh: false };
    }
  }

  /** Steps 2 and 3 for a claimed entry; safe to run again on the same entry. */
  async function complete(entry: EntryDoc, settings: ProgrammeSettings, fresh: boolean): Promise<AppliedMovement> {
    if (entry.status === 'applied' && entry.result) return toApplied(entry, entry.result, true);
    if (entry.status === 'void') throw new DomainError(asErrorCode(entry.error), `movement ${entry._id} was refused: ${entry.error ?? ''}`);
    const entryId = entry._id;
    let result: MovementResult | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !result; attempt++) {
      const card = await Cards.findById(entry.card).lean<CardDoc>();
      // No card: nothing can ever apply this movement (numbers are never reused).
      if (!card) return refuse(entry, new DomainError('card_not_found', `card ${entry.card} not found`));
      const mark = card.marks.find((m) => m.entryId === entryId);
      if (mark?.void) return refuse(entry, new DomainError(mark.void, `movement ${entryId} was refused`));
      if (mark?.result) {
        result = mark.result;
        break;
      }
      if (!fresh && (await markMayBeEvicted(card, entry))) {
        throw new Error(`entry ${entry._id} cannot be proven applied or not: left pending for review`);
      }
      const outcome = decide(card, entry, settings);
      // The outcome (applied, or refused) is written to the card in the one version-guarded
      // update, so two finishers of the same entry can never disagree.
      const newMark: CardMark =
        outcome instanceof DomainError
          ? { entryId, at: clock.now(), void: outcome.code }
          : { entryId, at: clock.now(), result: { ...outcome.result, lotsUsed: [] } }; // lots details stay in the entry: small cards are faster
      const marks = [...card.marks, newMark].slice(-MARKS_KEPT);
      const res = await Cards.updateOne(
        { _id: card._id, version: card.version },
        { $set: { ...(outcome instanceof DomainError ? {} : outcome.next), marks, updatedAt: clock.now() }, $inc: { version: 1 } },
      );
      if (res.modifiedCount === 1) {
        if (outcome instanceof DomainError) return refuse(entry, outcome);
        result = outcome.result;
      } else await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
    }
    if (!result) throw new DomainError('concurrent_update', `card ${entry.card} is too busy, retry`);
    await hook('card_updated', entry._id);
    // Filter on _id alone: the card's mark fixed the outcome, every finisher writes the same.
    await Entries.updateOne({ _id: entry._id }, { $set: { status: 'applied', amount: result.amount, result, appliedAt: clock.now() } });
    return toApplied(entry, result, false);
  }

  /**
   * A card remembers its last MARKS_KEPT entries. If an old pending entry predates all of
   * them, its mark may have been pushed out; then the balance decides: when it already equals
   * the sum of applied entries the movement was not applied and may be; otherwise we stop.
   */
  async function markMayBeEvicted(card: CardDoc, entry: EntryDoc): Promise<boolean> {
    const oldest = card.marks[0];
    if (card.marks.length < MARKS_KEPT || !oldest || new Date(oldest.at).getTime() < new Date(entry.createdAt).getTime()) return false;
    return card.balance !== (await appliedSum(entry.card));
  }

  async function appliedSum(card: string): Promise<number> {
    const rows = await Entries.aggregate<{ total: number }>([
      { $match: { card, status: 'applied' } },
      { $group: { _id: null, total: { $sum: '$amount' } } },
    ]);
    return rows[0]?.total ?? 0;
  }

  /** The card's answer to a movement: the planned new state, or the refusal. */
  function decide(card: CardDoc, entry: EntryDoc, settings: ProgrammeSettings): ReturnType<typeof planMovement> | DomainError {
    // A blocked (or replaced) card earns and spends nothing, but corrections still land on it: a refund's
    // clawback and return, expiry and manual adjustments keep the books right.
    if (card.status === 'blocked' && !CORRECTIONS.has(entry.type)) return new DomainError('card_blocked', 'card is blocked');
    if (card.status === 'replaced' && !CORRECTIONS.has(entry.type)) return new DomainError('card_replaced', 'card was replaced', { replacedBy: card.replacedBy });
    try {
      return planMovement(
        cardState(card),
        { entryId: entry._id, effect: entry.effect, points: entry.points, spendDeltaKopecks: entry.spendDeltaKopecks, lotId: entry.lotId, lotExpiresAt: entry.lotExpiresAt ? new Date(entry.lotExpiresAt) : null },
        settings,
        new Date(entry.createdAt),
      );
    } catch (err) {
      if (err instanceof DomainError) return err;
      throw err;
    }
  }

  async function refuse(entry: EntryDoc, err: DomainError): Promise<never> {
    await Entries.updateOne({ _id: entry._id }, { $set: { status: 'void', error: err.code, appliedAt: clock.now() } });
    throw err;
  }

  return {
    async init(): Promise<void> {
      await Promise.all([Cards.createIndexes(), Entries.createIndexes()]);
    },

    /** Applies a movement once per key; a repeated key returns the first result (`replayed`). */
    async apply(mv: MovementRequest): Promise<AppliedMovement> {
      if (!Number.isSafeInteger(mv.points) || mv.points < 0) throw new DomainError('validation_failed', 'points must be a non-negative integer');
      const settings = await deps.settings();
      const { entry, fresh } = await claim(mv, settings);
      if (fresh) await hook('entry_inserted', mv.key);
      const applied = await complete(entry, settings, fresh);
      return fresh ? applied : { ...applied, replayed: true };
    },

    /**
     * Finishes every movement left `pending` longer than `olderThanMs` (a crash between
     * writes): applied to the card already → marked applied; not applied → applied now, or
     * void when the card refuses it. Returns what it did.
     */
    async recover(olderThanMs = 30_000): Promise<{ completed: number; voided: number; left: number }> {
      const settings = await deps.settings();
      const cutoff = new Date(clock.now().getTime() - olderThanMs);
      const stuck = await Entries.find({ status: 'pending', createdAt: { $lte: cutoff } }).sort({ createdAt: 1 }).limit(1000).lean<EntryDoc[]>();
      let completed = 0;
      let voided = 0;
      let left = 0;
      for (const e of stuck) {
        try {
          await complete(e, settings, false);
          completed++;
        } catch (err) {
          if (err instanceof DomainError) voided++;
          else left++; // not provable either way (see markMayBeEvicted), or the database failed: next pass
        }
      }
      return { completed, voided, left };
    },

    appliedSum,

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

    /** Sum of applied amounts matching a filter (reports, referral stats). */
    async sumFor(filter: Record<string, unknown>): Promise<number> {
      const rows = await Entries.aggregate<{ total: number }>([
        { $match: { ...filter, status: 'applied' } },
        { $group: { _id: null, total: { $sum: '$amount' } } },
      ]);
      return rows[0]?.total ?? 0;
    },

    async history(card: string, limit: number, before?: Date): Promise<EntryDoc[]> {
      const filter: Record<string, unknown> = { card, status: 'applied' };
      if (before) filter.createdAt = { $lt: before };
      return Entries.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit).lean<EntryDoc[]>();
    },

    async findByKey(key: string): Promise<EntryDoc | null> {
      return Entries.findById(key).lean<EntryDoc>();
    },

    /** Writes expiry entries for every lot past its date (the scheduled expiry job). */
    async expireDue(limit = 500): Promise<number> {
      const now = clock.now();
      const cards = await Cards.find({ 'lots.expiresAt': { $lte: now } }, { lots: 1 }).limit(limit).lean<Pick<CardDoc, '_id' | 'lots'>[]>();
      let n = 0;
      for (const c of cards) {
        for (const lot of c.lots.filter((l) => new Date(l.expiresAt).getTime() <= now.getTime())) {
          const r = await this.apply({
            key: `expiry:${c._id}:${lot.entryId}`,
            card: c._id,
            type: 'expiry',
            effect: 'expire',
            points: lot.remaining,
            lotId: lot.entryId,
          }).catch((err: unknown) => {
            // A lot changed since we read it: its expiry key is taken with other points; skip.
            if (err instanceof DomainError && err.code === 'idempotency_conflict') return null;
            throw err;
          });
          if (r && r.amount !== 0) n++;
        }
      }
      return n;
    },
  };
}
export type Ledger = ReturnType<typeof createLedger>;
