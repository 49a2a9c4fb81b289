import { createHash, randomBytes } from 'node:crypto';
import { createI18n, type I18n, type Language } from '../i18n/i18n.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { BroadcastReportInput } from '../reports/broadcast.report.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { emptyCounts, type BroadcastDoc } from './broadcast.model.js';
import type { Planner, PlanWork } from './broadcast.plan.js';
import { renderBroadcast } from './broadcast.render.js';
import type { BroadcastRepository } from './broadcast.repository.js';
import { quietUntil } from './broadcast.rules.js';
import {
  BROADCAST_CHANNELS,
  INTERRUPTED,
  LIST_MAX,
  TEXT_MAX,
  type Audience,
  type BroadcastChannel,
  type BroadcastInput,
  type BroadcastStatus,
  type BroadcastView,
  type DeliveryOutcome,
  type EngineAudience,
  type Recipients,
  type RenderedMessage,
} from './broadcast.types.js';
import type { DeliveryDoc } from './delivery.model.js';
import type { DeliveryRepository } from './delivery.repository.js';
import type { RecipientRepository } from './recipient.repository.js';

/** Where the service hands a broadcast to be planned (the worker role's queue); set by the runtime. */
export interface BroadcastJobs {
  plan(broadcastId: string, delayMs?: number): Promise<void>;
}

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

const PAGE_MAX = 100;
const HEX_ID = /^[0-9a-f]{24}$/;
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

function view(b: BroadcastDoc): BroadcastView {
  return {
    id: b._id,
    kind: b.kind,
    status: b.status,
    text: b.text,
    audience: b.audience,
    channels: b.channels,
    button: b.button,
    scheduledAt: b.scheduledAt?.toISOString() ?? null,
    holdoutPercent: b.holdoutPercent,
    ignoreQuietHours: b.ignoreQuietHours,
    recipients: b.recipients,
    counts: b.counts,
    holdout: b.holdout,
    unsubscribed: b.unsubscribed,
    planned: b.planned,
    createdAt: b.createdAt.toISOString(),
    startedAt: b.startedAt?.toISOString() ?? null,
    finishedAt: b.finishedAt?.toISOString() ?? null,
  };
}

const invalid = (field: string, message: string): DomainError => new DomainError('validation_failed', `${field}: ${message}`, { problems: [{ path: field, message }] });

/**
 * Broadcasts: what the admin API, the CLI and the panel call (create, preview, test, get, list,
 * pause, resume, cancel), and what the broadcast workers call (plan a page, claim a delivery,
 * record its outcome). Every rule is here or in broadcast.rules.ts; workers only deliver.
 */
export function createBroadcastService(deps: {
  repo: BroadcastRepository;
  deliveries: DeliveryRepository;
  recipients: RecipientRepository;
  planner: Planner;
  settings: () => Promise<ProgrammeSettings>;
  segmentExists: (id: string) => Promise<boolean>;
  clock: Clock;
  timeZone: string;
}) {
  const { repo, deliveries, planner, clock } = deps;
  let jobs: BroadcastJobs | null = null;
  // The senders read a broadcast once a second at most (a pause or cancel is seen within it).
  const recent = new Map<string, { b: BroadcastDoc | null; at: number }>();
  async function cached(id: string): Promise<BroadcastDoc | null> {
    const hit = recent.get(id);
    if (hit && Date.now() - hit.at < 1000) return hit.b;
    const b = await repo.get(id);
    recent.set(id, { b, at: Date.now() });
    if (recent.size > 100) recent.delete(recent.keys().next().value ?? '');
    return b;
  }
  let i18n: Promise<I18n> | null = null;
  const words = (): Promise<I18n> => (i18n ??= createI18n());

  async function load(id: string): Promise<BroadcastDoc> {
    const b = HEX_ID.test(id) ? await repo.get(id) : null;
    if (!b) throw new DomainError('broadcast_not_found', 'no such broadcast');
    return b;
  }

  async function validAudience(a: Audience, settings: ProgrammeSettings): Promise<Audience> {
    switch (a.kind) {
      case 'all':
        return { kind: 'all' };
      case 'level':
        if (![...settings.levels, ...settings.manualLevels].some((l) => l.id === a.levelId)) throw invalid('audience.levelId', `no level '${a.levelId}'`);
        return { kind: 'level', levelId: a.levelId };
      case 'cards':
      case 'phones': {
        const list = a.kind === 'cards' ? a.numbers : a.phones;
        if (!Array.isArray(list) || list.length < 1 || list.length > LIST_MAX) throw invalid(`audience.${a.kind === 'cards' ? 'numbers' : 'phones'}`, `1–${LIST_MAX} items (a larger list goes through a segment)`);
        return a.kind === 'cards' ? { kind: 'cards', numbers: [...a.numbers] } : { kind: 'phones', phones: [...a.phones] };
      }
      case 'segment':
        if (!(await deps.segmentExists(a.segmentId))) throw new DomainError('segment_not_found', 'no such segment');
        return { kind: 'segment', segmentId: a.segmentId };
    }
  }

  /** A new broadcast document from the input, validated (not written). */
  async function draft(input: BroadcastInput): Promise<BroadcastDoc> {
    const settings = await deps.settings();
    const text = input.text.trim();
    if (text.length < 1 || text.length > TEXT_MAX) throw invalid('text', `1–${TEXT_MAX} characters`);
    const channels = [...new Set(input.channels ?? BROADCAST_CHANNELS)];
    if (channels.length === 0 || channels.some((c) => !(BROADCAST_CHANNELS as readonly string[]).includes(c))) throw invalid('channels', `one or more of ${BROADCAST_CHANNELS.join(', ')}`);
    let button: BroadcastDoc['button'] = null;
    if (input.button) {
      const label = input.button.text.trim();
      if (label.length < 1 || label.length > 40) throw invalid('button.text', '1–40 characters');
      if (!/^https?:\/\/[^\s/]+\.[^\s/]+/.test(input.button.url) || input.button.url.length > 512) throw invalid('button.url', 'an http(s) URL with a domain name');
      button = { text: label, url: input.button.url };
    }
    const holdoutPercent = input.holdoutPercent ?? 0;
    if (!Number.isFinite(holdoutPercent) || holdoutPercent < 0 || holdoutPercent > 50) throw invalid('holdoutPercent', '0–50');
    let scheduledAt: Date | null = null;
    if (input.scheduledAt !== undefined) {
      scheduledAt = new Date(input.scheduledAt);
      if (Number.isNaN(scheduledAt.getTime())) throw invalid('scheduledAt', 'an ISO date-time');
    }
    const now = clock.now();
    return {
      _id: randomBytes(12).toString('hex'),
      kind: 'campaign',
      text,
      audience: await validAudience(input.audience, settings),
      channels,
      button,
      scheduledAt,
      holdoutPercent,
      ignoreQuietHours: input.ignoreQuietHours === true,
      ...unplanned(now),
    };
  }

  /** A new broadcast's delivery state: nothing counted, planned or started yet. */
  function unplanned(now: Date) {
    return {
      status: 'scheduled' as const,
      recipients: { telegram: 0, vk: 0, wallet: 0, total: 0 },
      counts: { telegram: emptyCounts(), vk: emptyCounts(), wallet: emptyCounts() },
      holdout: 0,
      unsubscribed: 0,
      cursor: null,
      planned: false,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
    };
  }

  /** How long `b` must wait before going out now: its scheduled time, then quiet hours (unless urgent). */
  async function waitMs(b: Pick<BroadcastDoc, 'scheduledAt' | 'ignoreQuietHours'>): Promise<number> {
    const now = clock.now();
    if (b.scheduledAt && b.scheduledAt > now) return b.scheduledAt.getTime() - now.getTime();
    if (b.ignoreQuietHours) return 0;
    const until = quietUntil(now, (await deps.settings()).marketing.quietHours, deps.timeZone);
    return until ? until.getTime() - now.getTime() : 0;
  }

  async function start(doc: BroadcastDoc): Promise<{ id: string; status: BroadcastStatus; recipients: Recipients }> {
    const cap = (await deps.settings()).marketing.frequencyCap;
    const counted = await planner.count(doc, cap);
    doc.recipients = { telegram: counted.telegram, vk: counted.vk, wallet: counted.wallet, total: counted.total };
    const wait = await waitMs(doc);
    if (wait === 0) {
      doc.status = 'sending';
      doc.startedAt = clock.now();
    }
    await repo.insert(doc);
    await jobs?.plan(doc._id, wait);
    return { id: doc._id, status: doc.status, recipients: doc.recipients };
  }

  /** The broadcast is over when everything is planned and nothing is queued any more. */
  async function maybeDone(id: string, known?: BroadcastDoc | null): Promise<void> {
    const b = known ?? (await repo.get(id));
    if (!b || b.status !== 'sending' || !b.planned) return;
    if (BROADCAST_CHANNELS.some((c) => b.counts[c].queued > 0)) return;
    await repo.transition(id, ['sending'], 'done', { finishedAt: clock.now() });
  }

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

  async function unsubscribeLabel(lang: Language): Promise<string> {
    return (await words()).t(lang, 'bot:broadcast.unsubscribe');
  }

  return {
    init: async (): Promise<void> => {
      await Promise.all([repo.init(), deliveries.init()]);
    },
    /** The worker role's queue; until set (an API process without it), the worker's sweep finds new broadcasts. */
    useJobs(j: BroadcastJobs): void {
      jobs = j;
    },

    // ---- the marketer's side (admin API, CLI, panel)

    /** Creates a broadcast and starts it (or schedules it): recipients per channel as of now. */
    async create(input: BroadcastInput): Promise<{ id: string; status: BroadcastStatus; recipients: Recipients }> {
      return start(await draft(input));
    },

    /** Recipients per channel and the message as each channel shows it; changes nothing. */
    async preview(input: BroadcastInput, lang: Language = 'ru'): Promise<{ recipients: Recipients; skipped: Record<BroadcastChannel, number>; holdout: number; messages: RenderedMessage }> {
      const doc = await draft(input);
      const counted = await planner.count(doc, (await deps.settings()).marketing.frequencyCap);
      return {
        recipients: { telegram: counted.telegram, vk: counted.vk, wallet: counted.wallet, total: counted.total },
        skipped: counted.skipped,
        holdout: counted.holdout,
        messages: renderBroadcast(doc.text, doc.button, await unsubscribeLabel(lang)),
      };
    },

    /** Sends the broadcast's message to the admins' own chats only (members with the admin role), at once. */
    async test(id: string): Promise<{ id: string; status: BroadcastStatus; recipients: Recipients }> {
      const b = await load(id);
      const now = clock.now();
      return start({
        ...b,
        _id: randomBytes(12).toString('hex'),
        kind: 'test',
        audience: { kind: 'admins' },
        scheduledAt: null,
        holdoutPercent: 0,
        ignoreQuietHours: true,
        ...unplanned(now),
      });
    },

    get: async (id: string): Promise<BroadcastView> => view(await load(id)),

    /** Newest first, `limit` at a time; `before` is the previous page's `next`. */
    async list(opts: { limit?: number | undefined; before?: string | undefined; kind?: BroadcastDoc['kind'] | undefined } = {}): Promise<{ items: BroadcastView[]; next: string | null }> {
      const limit = Math.min(PAGE_MAX, Math.max(1, opts.limit ?? 20));
      const before = opts.before ? new Date(opts.before) : undefined;
      if (before && Number.isNaN(before.getTime())) throw invalid('before', 'the `next` of the previous page');
      const items = await repo.list({ limit, before, ...(opts.kind ? { kind: opts.kind } : {}) });
      const last = items[items.length - 1];
      return { items: items.map(view), next: items.length === limit && last ? last.createdAt.toISOString() : null };
    },

    /** Stops handing out messages; those already with a sender finish. */
    async pause(id: string): Promise<BroadcastView> {
      const b = await load(id);
      if (!(await repo.transition(id, ['scheduled', 'sending'], 'paused'))) throw new DomainError('broadcast_state', `a ${b.status} broadcast cannot be paused`, { status: b.status });
      return view(await load(id));
    },

    async resume(id: string): Promise<BroadcastView> {
      const b = await load(id);
      const wait = await waitMs(b);
      const to: BroadcastStatus = wait > 0 ? 'scheduled' : 'sending';
      if (!(await repo.transition(id, ['paused'], to, to === 'sending' && !b.startedAt ? { startedAt: clock.now() } : {}))) {
        throw new DomainError('broadcast_state', `a ${b.status} broadcast cannot be resumed`, { status: b.status });
      }
      await jobs?.plan(id, wait);
      return view(await load(id));
    },

    /** Nothing more goes out: every queued delivery is counted as skipped (reason canceled). */
    async cancel(id: string): Promise<BroadcastView> {
      const b = await load(id);
      if (!(await repo.transition(id, ['scheduled', 'sending', 'paused'], 'canceled', { finishedAt: clock.now() }))) {
        throw new DomainError('broadcast_state', `a ${b.status} broadcast cannot be canceled`, { status: b.status });
      }
      for (const c of BROADCAST_CHANNELS) {
        const n = await deliveries.settleQueued(id, c, 'skipped', 'canceled', clock.now());
        await repo.inc(id, { [`counts.${c}.queued`]: -n, [`counts.${c}.skipped`]: n });
      }
      return view(await load(id));
    },

    /** What the broadcast report needs (core/reports/broadcast.report.ts): delivered members versus the holdout. */
    async reportInput(id: string): Promise<BroadcastReportInput> {
      const b = await load(id);
      const delivered = BROADCAST_CHANNELS.reduce((n, c) => n + b.counts[c].sent, 0);
      return {
        id: b._id,
        sentAt: b.startedAt ?? b.createdAt,
        delivered,
        unsubscribed: b.unsubscribed,
        // A member reached on several channels counts once: the first channel that reached them.
        recipients: async function* () {
          const seen = new Set<string>();
          for (const c of b.channels) {
            for await (const page of deliveries.memberPages(b._id, c, ['sent'])) {
              const fresh = page.filter((m) => !seen.has(m));
              for (const m of fresh) seen.add(m);
              if (fresh.length) yield fresh;
            }
          }
        },
        holdout: () => deliveries.memberPages(b._id, 'holdout', ['holdout']),
      };
    },

    // ---- the members' side (bots)

    /** The one-tap unsubscribe button of a broadcast (or the settings switch): takes effect at once. */
    async unsubscribe(memberId: string, channel: BroadcastChannel, broadcastId?: string): Promise<void> {
      await deps.recipients.setOptIn(memberId, [channel], false, clock.now());
      if (broadcastId && HEX_ID.test(broadcastId) && (await repo.exists(broadcastId))) await repo.inc(broadcastId, { unsubscribed: 1 });
    },

    /** The member's own choice about marketing in these channels (join question, settings). */
    async setMarketing(memberId: string, channels: readonly BroadcastChannel[], on: boolean): Promise<void> {
      if (!(await deps.recipients.setOptIn(memberId, channels, on, clock.now()))) throw new DomainError('member_not_found', 'no such member');
    },

    /**
     * A chat channel says the bot may (not) write to an account: Telegram's my_chat_member
     * (kicked / member), VK's message_deny / message_allow, a 403 or 901/902 while sending, or
     * the person writing again. Unreachable chats are skipped by later broadcasts.
     */
    async setReachable(identity: string, reachable: boolean): Promise<void> {
      const colon = identity.indexOf(':');
      const channel = identity.slice(0, colon);
      if (channel !== 'telegram' && channel !== 'vk') return;
      const memberId = await deps.recipients.memberOfIdentity(identity);
      if (memberId) await deps.recipients.setUnreachable(memberId, channel, reachable ? null : clock.now());
    },

    // ---- the workers' side

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
      if (touched) await jobs?.plan(id);
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

    /** The words of a broadcast for a member's language (automations have one text per language). */
    textFor(b: Pick<BroadcastDoc, 'text' | 'texts'>, lang: Language): string {
      return b.texts?.[lang] ?? b.text;
    },

    /** An automation's broadcast, once per `key` (core/broadcasts/broadcast.automations.ts). */
    async startAutomation(key: string, texts: Record<Language, string>, audience: EngineAudience): Promise<string | null> {
      if (await repo.automationRan(key)) return null;
      const now = clock.now();
      const doc: BroadcastDoc = {
        // Derived from the key: a second run with the same key collides on _id and sends nothing.
        _id: createHash('sha256').update(`automation:${key}`).digest('hex').slice(0, 24),
        kind: 'automation',
        automation: key,
        text: texts.ru,
        texts,
        audience,
        channels: [...BROADCAST_CHANNELS],
        button: null,
        scheduledAt: null,
        holdoutPercent: 0,
        ignoreQuietHours: false,
        ...unplanned(now),
      };
      try {
        return (await start(doc)).id;
      } catch (err) {
        if (isDuplicateKey(err)) return null;
        throw err;
      }
    },
    words,
  };
}
export type BroadcastService = ReturnType<typeof createBroadcastService>;
