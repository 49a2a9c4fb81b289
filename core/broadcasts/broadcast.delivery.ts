import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import type { BroadcastDoc } from './broadcast.model.js';
import type { Planner, PlanWork } from './broadcast.plan.js';
import type { BroadcastRepository } from './broadcast.repository.js';
import { BROADCAST_CHANNELS, INTERRUPTED, type BroadcastChannel, type BroadcastJobs, type DeliveryOutcome } from './broadcast.types.js';
import type { DeliveryDoc } from './delivery.model.js';
import type { DeliveryRepository } from './delivery.repository.js';
import type { RecipientRepository } from './recipient.repository.js';

/**
 * The senders' jobs as the sweep sees them (the worker's BullMQ queues); a claim is the id of
 * the job that took the delivery, on its channel's queue.
 */
export interface SenderJobs {
  /** Those of `claims` a job still holds: running, waiting (a stalled one put back), or delayed for a retry. */
  held(channel: BroadcastChannel, claims: readonly string[]): Promise<Set<string>>;
  /** Removes the jobs behind `claims` that BullMQ has finished with, so their deliveries can be queued again under the same job ids. */
  drop(channel: BroadcastChannel, claims: readonly string[]): Promise<void>;
}

/** What a sender does with one delivery (or a batch) it asked for. */
export type Claim =
  /** Send it; the delivery is now `sending` under this claim. */
  | { kind: 'send'; delivery: DeliveryDoc; broadcast: BroadcastDoc }
  /** A previous run of this same job claimed it and died mid-send: whether it went out is unknown. */
  | { kind: 'interrupted'; delivery: DeliveryDoc; broadcast: BroadcastDoc }
  /** Quiet hours or the scheduled time: come back in `ms`. */
  | { kind: 'wait'; ms: number }
  /** Nothing to do now (done, canceled, paused: a resume hands queued deliveries over again). */
  | { kind: 'none' };

/** Deliveries of one channel the sweep reads at a time. */
const SWEEP_PAGE = 1000;
/** Frequency-cap records are pruned at most this often (the prune scans the whole collection on FerretDB). */
const PRUNE_EVERY_MS = 3_600_000;
/**
 * Cap records are kept this long past the cap window: clocks of several processes may differ,
 * and a marketer who widens the window (by up to a week) still finds the messages it counts.
 */
const CAP_MARGIN_DAYS = 7;
const DAY_MS = 86_400_000;

/**
 * The workers' side of broadcasts: plan a page, claim a delivery (or a batch), record its
 * outcome, give it back, settle what a dead worker left, recount counters, prune cap records.
 * The marketer's side (create, pause, resume, cancel…) is broadcast.service.ts, which hands this
 * the helpers both share: when a broadcast may go out (`waitMs`), the "done" check
 * (`maybeDone`) and the once-a-second read of a broadcast (`cached`).
 */
export function createDeliveryBookkeeping(deps: {
  repo: BroadcastRepository;
  deliveries: DeliveryRepository;
  recipients: RecipientRepository;
  planner: Planner;
  settings: () => Promise<ProgrammeSettings>;
  clock: Clock;
  waitMs(b: Pick<BroadcastDoc, 'scheduledAt' | 'ignoreQuietHours'>): Promise<number>;
  maybeDone(id: string, known?: BroadcastDoc | null): Promise<void>;
  cached(id: string): Promise<BroadcastDoc | null>;
  /** The planner's queue, once the runtime has set it. */
  jobs(): BroadcastJobs | null;
}) {
  const { repo, deliveries, planner, clock, waitMs, maybeDone, cached } = deps;

  /**
   * Records a delivery's outcome and moves the counters; false when `claim` did not hold it
   * (nothing changed). `recover`: the interrupted path and the sweep, which settle what a dead
   * run left (delivery-gate.repository.ts).
   */
  async function finish(d: Pick<DeliveryDoc, '_id' | 'b' | 'channel' | 'memberId' | 'round'>, claim: string, outcome: DeliveryOutcome, reason: string | null = null, recover = false): Promise<boolean> {
    if (d.channel === 'holdout') return false;
    if (!(await deliveries.finish(d, claim, outcome, reason, clock.now(), recover))) return false;
    const after = await repo.incAndGet(d.b, { [`counts.${d.channel}.queued`]: -1, [`counts.${d.channel}.${outcome}`]: 1 }, { progressAt: clock.now() });
    if (outcome === 'blocked' && d.channel !== 'wallet') await deps.recipients.setUnreachable(d.memberId, d.channel, clock.now());
    await maybeDone(d.b, after);
    return true;
  }

  // When the sweep last read each broadcast's deliveries (clock ms), so it reads them once per `stuckMs` at most.
  const swept = new Map<string, number>();
  let prunedAt: number | null = null;

  return {

    /**
     * One planning step: how long to wait (scheduled, quiet hours), nothing (paused, canceled,
     * done), or the next page's work. A broadcast fully planned re-hands its queued deliveries
     * (after a resume) through `requeue`.
     */
    async planStep(id: string, pageSize: number): Promise<{ kind: 'wait'; ms: number } | { kind: 'none' } | { kind: 'requeue'; pages: AsyncGenerator<PlanWork> } | { kind: 'page'; work: PlanWork; done: boolean; commit(): Promise<void> }> {
      const b = await repo.get(id);
      if (!b || !['scheduled', 'sending'].includes(b.status)) return { kind: 'none' };
      const wait = await waitMs(b);
      if (wait > 0) return { kind: 'wait', ms: wait };
      if (b.status === 'scheduled' && !(await repo.transition(id, ['scheduled'], 'sending', b.startedAt ? {} : { startedAt: clock.now() }))) return { kind: 'none' };
      if (b.planned) return { kind: 'requeue', pages: planner.requeue(id) };
      const cap = (await deps.settings()).marketing.frequencyCap;
      const page = await planner.planPage({ ...b, status: 'sending' }, cap, pageSize);
      return {
        kind: 'page',
        work: page.work,
        done: page.done,
        commit: async () => {
          await page.commit();
          if (page.done) await maybeDone(id);
        },
      };
    },

    /**
     * The recovery pass of a broadcast's counters: a worker that died between recording a
     * delivery's outcome and moving the counters left them behind. When the counters say
     * something is queued but no delivery is, they are recounted from the records.
     */
    async reconcile(id: string): Promise<boolean> {
      const b = await repo.get(id);
      if (!b?.planned || b.status !== 'sending') return false;
      for (const c of b.channels) {
        if (b.counts[c].queued === 0) continue;
        const open = await deliveries.countStates(id, c, ['queued', 'sending']);
        if ((open.queued ?? 0) + (open.sending ?? 0) > 0) return false;
      }
      const set: Record<string, number> = {};
      for (const c of BROADCAST_CHANNELS) {
        const n = await deliveries.countStates(id, c, ['sent', 'failed', 'blocked', 'skipped']);
        set[`counts.${c}.queued`] = 0;
        for (const [state, count] of Object.entries(n)) set[`counts.${c}.${state}`] = count;
      }
      await repo.setCounts(id, set);
      await maybeDone(id);
      return true;
    },

    /**
     * Whether the tick should recount a broadcast and hand its queued deliveries over again: not
     * fully planned yet, or its counters have not moved for `quietMs` (a dead worker left them
     * behind, or a delivery waits with no job). Both read the broadcast's deliveries by `_id`
     * range, a whole-collection read on FerretDB v1, so a broadcast going normally is left alone.
     */
    async stalled(id: string, quietMs: number): Promise<boolean> {
      const b = await repo.get(id);
      if (!b) return false;
      if (!b.planned) return true;
      const now = clock.now().getTime();
      const quietSince = (b.progressAt ?? b.startedAt ?? b.createdAt).getTime();
      // (A clock set back counts as quiet: the look is harmless.)
      return now - quietSince >= quietMs || now < quietSince;
    },

    /** Broadcasts that should be planning (the worker's sweep hands them to the queue, deduplicated there). */
    async active(): Promise<string[]> {
      return (await repo.inStatus(['scheduled', 'sending'])).map((b) => b._id);
    },

    /** Takes one delivery for sending (queued → sending under `claim`), if its broadcast is going out now. */
    async claim(deliveryId: string, claim: string): Promise<Claim> {
      const b = await cached(deliveryId.slice(0, deliveryId.indexOf(':')));
      if (!b) return { kind: 'none' };
      if (b.status === 'sending') {
        const wait = await waitMs(b);
        if (wait > 0) return { kind: 'wait', ms: wait };
        const taken = await deliveries.claim(deliveryId, claim, clock.now());
        if (!taken) return { kind: 'none' };
        return { kind: taken.kind === 'held' ? 'send' : 'interrupted', delivery: taken.d, broadcast: b };
      }
      const own = await deliveries.own(deliveryId, claim);
      return own ? { kind: 'interrupted', delivery: own, broadcast: b } : { kind: 'none' };
    },

    /**
     * Takes a batch (VK, Wallet) for sending. Deliveries this same job held before (a run that
     * died) come back too: for these channels a repeat is harmless (VK's random_id, pass state).
     */
    async claimBatch(ids: string[], claim: string, staleMs: number): Promise<{ kind: 'send'; deliveries: DeliveryDoc[]; broadcast: BroadcastDoc } | { kind: 'wait'; ms: number } | { kind: 'none' }> {
      const first = ids[0];
      const b = first?.includes(':') ? await repo.get(first.slice(0, first.indexOf(':'))) : null;
      if (!b || b.status !== 'sending') return { kind: 'none' };
      const wait = await waitMs(b);
      if (wait > 0) return { kind: 'wait', ms: wait };
      const held = await deliveries.claimMany(ids, claim, clock.now(), staleMs);
      return held.length ? { kind: 'send', deliveries: held, broadcast: b } : { kind: 'none' };
    },

    /** Records a delivery's outcome and moves the counters; a blocked chat becomes unreachable. */
    finish,

    /**
     * Records the outcomes of a batch (VK, Wallet): one update per outcome, the counters moved by
     * what actually changed; members whose chat refused are marked unreachable there.
     */
    async finishBatch(b: string, channel: BroadcastChannel, claim: string, outcomes: { d: Pick<DeliveryDoc, '_id' | 'memberId' | 'round'>; outcome: DeliveryOutcome; reason: string | null }[]): Promise<void> {
      const groups = new Map<string, { outcome: DeliveryOutcome; reason: string | null; ds: Pick<DeliveryDoc, '_id' | 'round'>[] }>();
      for (const o of outcomes) {
        const key = `${o.outcome}\u0000${o.reason ?? ''}`;
        const g = groups.get(key) ?? { outcome: o.outcome, reason: o.reason, ds: [] };
        g.ds.push(o.d);
        groups.set(key, g);
      }
      const inc: Record<string, number> = {};
      for (const g of groups.values()) {
        const n = await deliveries.finishMany(g.ds, claim, g.outcome, g.reason, clock.now());
        inc[`counts.${channel}.queued`] = (inc[`counts.${channel}.queued`] ?? 0) - n;
        inc[`counts.${channel}.${g.outcome}`] = (inc[`counts.${channel}.${g.outcome}`] ?? 0) + n;
      }
      await repo.inc(b, inc, Object.keys(inc).length ? { progressAt: clock.now() } : {});
      if (channel !== 'wallet') {
        for (const o of outcomes) if (o.outcome === 'blocked') await deps.recipients.setUnreachable(o.d.memberId, channel, clock.now());
      }
      await maybeDone(b);
    },

    /** Gives a batch back (nothing reached anyone: VK's 429). */
    async releaseBatch(ds: Pick<DeliveryDoc, '_id' | 'round'>[], claim: string): Promise<void> {
      await deliveries.releaseMany(ds, claim, clock.now());
    },

    /**
     * Deliveries left `sending` for good: their sender died and BullMQ gave up on its job
     * (stalled more than maxStalledCount, attempts spent while it held the delivery, or removed),
     * so no run of that job comes back to record them, the counters never reach zero and the
     * broadcast is never done. Those claimed more than `stuckMs` ago whose job no longer holds
     * them are settled as a job finding its own claim would: Telegram is counted failed
     * (INTERRUPTED, never sent again: it has no idempotency key, this is the crash window), VK and
     * Wallet go back to `queued` and to the senders (VK's random_id and the pass's state make a
     * repeat harmless). Runs from the worker's tick; cheap when nothing is stuck: it reads the
     * deliveries only of a broadcast whose counters show work outstanding and have not moved for
     * `stuckMs`, and then once per `stuckMs`.
     */
    async sweep(id: string, senders: SenderJobs, stuckMs: number): Promise<{ failed: number; released: number }> {
      const out = { failed: 0, released: 0 };
      const b = await repo.get(id);
      const open = b?.status === 'sending' ? b.channels.filter((c) => b.counts[c].queued > 0) : [];
      if (!b || open.length === 0) {
        swept.delete(id);
        return out;
      }
      const now = clock.now().getTime();
      const quietSince = (b.progressAt ?? b.startedAt ?? b.createdAt).getTime();
      const lastSwept = swept.get(id);
      // (A clock set back since the last look does not hold the sweep off.)
      if (now - quietSince < stuckMs || (lastSwept !== undefined && now >= lastSwept && now - lastSwept < stuckMs)) return out;
      swept.set(id, now);
      if (swept.size > 1000) swept.delete(swept.keys().next().value ?? '');
      const before = now - stuckMs;
      let touched = false;
      for (const channel of open) {
        let after: string | null = null;
        for (;;) {
          const page = await deliveries.idsInState(id, channel, 'sending', after, SWEEP_PAGE);
          const old = page.flatMap((d) => (d.claim !== null && d.at.getTime() < before ? [{ ...d, claim: d.claim }] : []));
          const held = old.length ? await senders.held(channel, [...new Set(old.map((d) => d.claim))]) : new Set<string>();
          const dead = old.filter((d) => !held.has(d.claim));
          if (channel === 'telegram') {
            for (const d of dead) if (await finish(d, d.claim, 'failed', INTERRUPTED, true)) out.failed++;
          } else if (dead.length) {
            const byClaim = new Map<string, DeliveryDoc[]>();
            for (const d of dead) byClaim.set(d.claim, [...(byClaim.get(d.claim) ?? []), d]);
            // Their finished jobs go first: BullMQ ignores a job added under the id of one it still keeps,
            // and the planner hands these deliveries over again under the same batch id.
            await senders.drop(channel, [...byClaim.keys()]);
            for (const [claim, ds] of byClaim) out.released += await deliveries.releaseMany(ds, claim, clock.now(), true);
          }
          touched ||= dead.length > 0;
          const last = page[page.length - 1];
          if (!last || page.length < SWEEP_PAGE) break;
          after = last._id;
        }
      }
      // Given back (a release, or on the embedded store a dead run's release found recorded): the
      // planner hands every queued delivery of the broadcast to the senders again.
      if (touched) await deps.jobs()?.plan(id);
      return out;
    },

    /**
     * Frequency-cap records no cap window reads any more (older than the window of the settings
     * plus a margin) are deleted, at most once an hour, in batches. Returns how many, or null when
     * it was not yet time.
     */
    async pruneCaps(): Promise<number | null> {
      const now = clock.now().getTime();
      // (A clock set back since the last prune does not hold it off.)
      if (prunedAt !== null && now >= prunedAt && now - prunedAt < PRUNE_EVERY_MS) return null;
      prunedAt = now;
      const { days } = (await deps.settings()).marketing.frequencyCap;
      return repo.caps.prune(new Date(now - (days + CAP_MARGIN_DAYS) * DAY_MS));
    },

    /** Gives a delivery back (nothing reached the chat: a 429, a pause, a server error). */
    async release(d: Pick<DeliveryDoc, '_id' | 'round'>, claim: string): Promise<void> {
      await deliveries.release(d, claim, clock.now());
    },
  };
}
