import { createHash, randomBytes } from 'node:crypto';
import { createI18n, type I18n, type Language } from '../i18n/i18n.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { BroadcastReportInput } from '../reports/broadcast.report.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { emptyCounts, type BroadcastDoc } from './broadcast.model.js';
import type { Planner } from './broadcast.plan.js';
import { renderBroadcast } from './broadcast.render.js';
import type { BroadcastRepository } from './broadcast.repository.js';
import { quietUntil } from './broadcast.rules.js';
import {
  BROADCAST_CHANNELS,
  LIST_MAX,
  TEXT_MAX,
  type Audience,
  type BroadcastChannel,
  type BroadcastJobs,
  type BroadcastInput,
  type BroadcastStatus,
  type BroadcastView,
  type EngineAudience,
  type Recipients,
  type RenderedMessage,
} from './broadcast.types.js';
import type { DeliveryRepository } from './delivery.repository.js';
import type { RecipientRepository } from './recipient.repository.js';
import { createDeliveryBookkeeping } from './broadcast.delivery.js';

export type { SenderJobs } from './broadcast.delivery.js';
export type { BroadcastJobs } from './broadcast.types.js';



const PAGE_MAX = 100;
const HEX_ID = /^[0-9a-f]{24}$/;

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
 * pause, resume, cancel) and what the bots call (unsubscribe, marketing choice, reachability).
 * What the broadcast workers call (plan a page, claim a delivery, record its outcome, sweep) is
 * broadcast.delivery.ts, spread into the same object. Every rule is here, there or in
 * broadcast.rules.ts; workers only deliver.
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


  const delivery = createDeliveryBookkeeping({ repo, deliveries, recipients: deps.recipients, planner, settings: deps.settings, clock, waitMs, maybeDone, cached, jobs: () => jobs });

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

    // ---- the workers' side (broadcast.delivery.ts)
    ...delivery,


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
