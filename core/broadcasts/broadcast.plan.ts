import type { Clock } from '../shared/clock.js';
import type { BroadcastDoc } from './broadcast.model.js';
import type { BroadcastRepository } from './broadcast.repository.js';
import { addressOf, verdict, type AudiencePager } from './broadcast.audience.js';
import { capAllows, inHoldout, type FrequencyCap } from './broadcast.rules.js';
import { BROADCAST_CHANNELS, type BroadcastChannel, type Recipients } from './broadcast.types.js';
import { deliveryId, type DeliveryDoc } from './delivery.model.js';
import type { DeliveryRepository } from './delivery.repository.js';
import type { Recipient, RecipientRepository } from './recipient.repository.js';

/** VK takes up to 100 peer_ids per messages.send. */
export const VK_BATCH = 100;
/**
 * Members per page when only counting (the composer's live count, the create answer): each page
 * costs a few `$in` reads, which FerretDB v1 answers by scanning the collection, so fewer,
 * larger pages (10,000 members' recipient fields are a few MB in memory).
 */
const COUNT_PAGE = 10_000;
/** Passes whose offer one wallet job sets. */
export const WALLET_BATCH = 500;

/** What a planned page hands to the senders: delivery ids per channel, batched as each channel sends. */
export interface PlanWork {
  telegram: string[];
  vk: string[][];
  wallet: string[][];
}

/** One member's outcome of planning: which channels send, which are skipped and why. */
interface Decision {
  r: Recipient;
  send: BroadcastChannel[];
  skip: { channel: BroadcastChannel; reason: string }[];
  holdout: boolean;
}

function decide(b: Pick<BroadcastDoc, '_id' | 'channels' | 'holdoutPercent' | 'kind'>, rs: Recipient[]): Decision[] {
  const test = b.kind === 'test';
  return rs.flatMap((r) => {
    const send: BroadcastChannel[] = [];
    const skip: Decision['skip'] = [];
    for (const channel of b.channels) {
      const v = verdict(r, channel, { test });
      if (!v) continue;
      if (v.send) send.push(channel);
      else skip.push({ channel, reason: v.skip });
    }
    if (send.length === 0 && skip.length === 0) return [];
    const holdout = !test && send.length > 0 && inHoldout(b._id, String(r.member._id), b.holdoutPercent);
    return [{ r, send: holdout ? [] : send, skip, holdout }];
  });
}

/**
 * Rule: the frequency cap counts members, not channels: a broadcast takes one slot per member
 * when planned for them, and a member over the cap is skipped on every channel. Slots are
 * records inserted per member and broadcast (a retried page finds its own). Two broadcasts
 * planned for the same member at the same instant may both see a free last slot: at most one
 * message over the cap per concurrent planner.
 */
async function applyCap(repo: BroadcastRepository, b: string, ds: Decision[], cap: FrequencyCap, now: Date, write: boolean): Promise<void> {
  const pending = ds.filter((d) => d.send.length > 0);
  if (pending.length === 0) return;
  const since = new Date(now.getTime() - cap.days * 86_400_000);
  const recent = await repo.caps.recent(pending.map((d) => String(d.r.member._id)), since);
  const take: string[] = [];
  for (const d of pending) {
    const id = String(d.r.member._id);
    const entries = recent.get(id) ?? [];
    const { allowed } = capAllows(entries, b, now, cap);
    if (!allowed) {
      for (const channel of d.send) d.skip.push({ channel, reason: 'cap' });
      d.send = [];
    } else if (!entries.some((e) => e.b === b)) take.push(id);
  }
  if (write) await repo.caps.record(b, take, now);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface PlannerDeps {
  repo: BroadcastRepository;
  deliveries: DeliveryRepository;
  recipients: RecipientRepository;
  pager: AudiencePager;
  clock: Clock;
}

/**
 * Planning, a page of the audience at a time (never the whole audience in memory): decide
 * each member's channels, write one delivery record per recipient × channel (a retried page
 * finds its records and counts nothing twice), and hand the queued ones to the senders. The
 * broadcast's cursor moves on only after the page's work was handed over (`commit`).
 */
export function createPlanner(deps: PlannerDeps) {
  const { repo, deliveries, recipients, pager, clock } = deps;

  return {
    /** Recipients per channel, as planning would find them now (nothing written). */
    async count(b: Pick<BroadcastDoc, '_id' | 'channels' | 'holdoutPercent' | 'kind' | 'audience'>, cap: FrequencyCap, pageSize = COUNT_PAGE): Promise<Recipients & { skipped: Record<BroadcastChannel, number>; holdout: number }> {
      const out = { telegram: 0, vk: 0, wallet: 0, total: 0, skipped: { telegram: 0, vk: 0, wallet: 0 }, holdout: 0 };
      let cursor: string | null = null;
      do {
        const page = await pager(b.audience, cursor, pageSize);
        const ds = decide(b, await recipients.load(page.memberIds));
        if (b.kind !== 'test') await applyCap(repo, b._id, ds, cap, clock.now(), false);
        for (const d of ds) {
          for (const c of d.send) out[c]++;
          for (const s of d.skip) out.skipped[s.channel]++;
          if (d.send.length) out.total++;
          if (d.holdout) out.holdout++;
        }
        cursor = page.next;
      } while (cursor !== null);
      return out;
    },

    /** Plans the page after the broadcast's cursor; `commit` moves the cursor once `work` is handed over. */
    async planPage(b: BroadcastDoc, cap: FrequencyCap, pageSize: number): Promise<{ work: PlanWork; done: boolean; commit(): Promise<void> }> {
      const page = await pager(b.audience, b.cursor, pageSize);
      const now = clock.now();
      const ds = decide(b, await recipients.load(page.memberIds));
      if (b.kind !== 'test') await applyCap(repo, b._id, ds, cap, now, true);
      const docs: DeliveryDoc[] = [];
      const base = (d: Decision, channel: DeliveryDoc['channel']) => ({
        _id: deliveryId(b._id, channel, String(d.r.member._id)),
        b: b._id,
        channel,
        memberId: String(d.r.member._id),
        lang: d.r.member.language,
        claim: null,
        at: now,
      });
      for (const d of ds) {
        if (d.holdout) docs.push({ ...base(d, 'holdout'), to: '', state: 'holdout', reason: null });
        for (const c of d.send) docs.push({ ...base(d, c), to: addressOf(d.r, c), state: 'queued', reason: null });
        for (const s of d.skip) docs.push({ ...base(d, s.channel), to: addressOf(d.r, s.channel), state: 'skipped', reason: s.reason });
      }
      const existing = await deliveries.existing(docs.map((d) => d._id));
      const fresh = docs.filter((d) => !existing.has(d._id));
      await deliveries.insertMany(fresh);
      const inc: Record<string, number> = {};
      for (const d of fresh) {
        const key = d.state === 'holdout' ? 'holdout' : `counts.${d.channel}.${d.state}`;
        inc[key] = (inc[key] ?? 0) + 1;
      }
      await repo.inc(b._id, inc);
      // A page done before (a retry) hands over again what is still queued; the senders claim each once.
      const again = existing.size ? (await deliveries.many([...existing])).filter((d) => d.state === 'queued') : [];
      const queued = [...fresh.filter((d) => d.state === 'queued'), ...again];
      const of = (c: BroadcastChannel): DeliveryDoc[] => queued.filter((d) => d.channel === c);
      // VK sends one text per call: a batch is one language.
      const vk = (['ru', 'en'] as const).flatMap((lang) => chunks(of('vk').filter((d) => d.lang === lang).map((d) => d._id), VK_BATCH));
      const work: PlanWork = { telegram: of('telegram').map((d) => d._id), vk, wallet: chunks(of('wallet').map((d) => d._id), WALLET_BATCH) };
      return {
        work,
        done: page.next === null,
        commit: () => repo.set(b._id, { cursor: page.next, planned: page.next === null }),
      };
    },

    /** Queued deliveries of a planned part of a broadcast, as work again (resume after a pause). */
    async *requeue(b: string, pageSize = 1000): AsyncGenerator<PlanWork> {
      for (const channel of BROADCAST_CHANNELS) {
        let after: string | null = null;
        for (;;) {
          const page = await deliveries.idsInState(b, channel, 'queued', after, pageSize);
          const last = page[page.length - 1];
          if (!last) break;
          after = last._id;
          if (channel === 'telegram') yield { telegram: page.map((d) => d._id), vk: [], wallet: [] };
          else if (channel === 'vk') yield { telegram: [], vk: (['ru', 'en'] as const).flatMap((lang) => chunks(page.filter((d) => d.lang === lang).map((d) => d._id), VK_BATCH)), wallet: [] };
          else yield { telegram: [], vk: [], wallet: chunks(page.map((d) => d._id), WALLET_BATCH) };
        }
      }
    },
  };
}
export type Planner = ReturnType<typeof createPlanner>;
