import type { Connection } from 'mongoose';
import type { HelixCustomRewardRedemption } from '@twurple/api';
import type { Core } from '../../core/core.js';
import type { AdminContestView } from '../../core/contests/contest.views.js';
import { DEFAULT_LANGUAGE, type I18n, type Language } from '../../core/i18n/i18n.js';
import { DomainError, isDuplicateKey } from '../../core/shared/errors.js';
import { insertRaw } from '../../core/shared/mongo.js';
import type { TwitchClient, TwitchLog } from './twitch.client.js';
import { twitchModels, type RedemptionOutcome, type TwitchRedemptionDoc, type TwitchRewardDoc } from '../../core/twitch/twitch-state.model.js';

/** Twitch's limits on a custom reward. */
const TITLE_MAX = 45;
const PROMPT_MAX = 200;
/** A claim with no outcome this old was left by a crash (or a failed entry): another poll takes it over. */
const STALE_CLAIM_MS = 60_000;

export interface GiveawayOptions {
  /** Channel points a redemption costs (Twitch: at least 1). */
  cost?: number;
  /** Language of the reward's title and prompt (the viewers'); default ru. */
  language?: Language;
  pollMs?: number;
}

/** An HTTP error from twurple (HttpStatusCodeError of @twurple/api-call), told by its shape. */
function httpStatus(err: unknown): number | null {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : null;
}
function httpBody(err: unknown): string {
  const b = (err as { body?: unknown } | null)?.body;
  return typeof b === 'string' ? b : '';
}

/** At most `max` UTF-16 units (the stricter count), cut between graphemes, with an ellipsis. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)) {
    if (out.length + segment.length > max - 1) break;
    out += segment;
  }
  return `${out.trimEnd()}…`;
}

/** The contest's status, 'deleted' when it no longer exists. */
async function statusOf(core: Core, contestId: string): Promise<string> {
  try {
    return (await core.contests.get(contestId)).status;
  } catch (err) {
    if (err instanceof DomainError && err.code === 'contest_not_found') return 'deleted';
    throw err;
  }
}

/**
 * Channel-point giveaways: each open contest with the `twitch` channel gets a custom reward
 * (the viewer types their card number as the redemption's text); unfulfilled redemptions are
 * polled and each becomes `contests.enter(...)` for `twitch:<userId>`. An entry → FULFILLED;
 * a refusal → CANCELED (Twitch gives the points back), the refusal code logged.
 *
 * Exactly once, across restarts and several pollers: the redemption id is inserted (unique
 * `_id`) before the entry is made, the outcome is stored before Helix is told, and a
 * redemption already recorded is only re-sent its status. A claim left without an outcome by a
 * crash is taken over after a minute; its entry may have been made, so `contest_already_entered`
 * then counts as FULFILLED.
 */
export function createTwitchGiveaway(deps: { core: Core; conn: Connection; client: TwitchClient; i18n: I18n; log: TwitchLog; options?: GiveawayOptions }) {
  const { core, client, i18n, log } = deps;
  const { Rewards, Redemptions } = twitchModels(deps.conn);
  const broadcasterId = client.broadcaster.id;
  const cost = deps.options?.cost ?? 1;
  const lang = deps.options?.language ?? DEFAULT_LANGUAGE;
  const pollMs = deps.options?.pollMs ?? 5000;
  const now = (): Date => core.clock.now();

  async function adoptByTitle(title: string): Promise<string | null> {
    const mine = await client.api.channelPoints.getCustomRewards(broadcasterId, true);
    return mine.find((r) => r.title.toLowerCase() === title.toLowerCase())?.id ?? null;
  }

  /** The contest's reward, created on Twitch the first time (adopted when a crash left it unrecorded). */
  async function ensureReward(contest: AdminContestView): Promise<TwitchRewardDoc | null> {
    const known = await Rewards.findById(contest.id).lean<TwitchRewardDoc>();
    if (known && known.broadcasterId === broadcasterId) return known.retiredAt ? null : known;
    const title = clip(i18n.t(lang, 'twitch:reward_title', { title: contest.title }), TITLE_MAX);
    const prompt = clip(i18n.t(lang, 'twitch:reward_prompt', { title: contest.title }), PROMPT_MAX);
    let rewardId: string;
    try {
      const created = await client.api.channelPoints.createCustomReward(broadcasterId, { title, cost, prompt, userInputRequired: true, isEnabled: true, autoFulfill: false });
      rewardId = created.id;
    } catch (err) {
      const adopted = httpStatus(err) === 400 && httpBody(err).includes('DUPLICATE') ? await adoptByTitle(title) : null;
      if (!adopted) throw err;
      rewardId = adopted;
    }
    const doc: TwitchRewardDoc = { _id: contest.id, broadcasterId, rewardId, title, createdAt: now(), retiredAt: null, retiredReason: null };
    await Rewards.collection.replaceOne({ _id: contest.id } as unknown as Parameters<typeof Rewards.collection.replaceOne>[0], doc, { upsert: true });
    log.info({ contestId: contest.id, rewardId, title, cost }, 'twitch reward created');
    return doc;
  }

  async function decide(reward: TwitchRewardDoc, r: HelixCustomRewardRedemption, account: string, resumed: boolean): Promise<{ outcome: RedemptionOutcome; reason: string | null; entryId: string | null }> {
    try {
      const entered = await core.contests.enter({ contestId: reward._id, channel: 'twitch', account, cardInput: r.userInput });
      return { outcome: 'FULFILLED', reason: null, entryId: entered.entryId };
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      // A taken-over claim: the crashed attempt may have made the entry already.
      if (resumed && err.code === 'contest_already_entered') return { outcome: 'FULFILLED', reason: 'resumed', entryId: null };
      return { outcome: 'CANCELED', reason: err.code, entryId: null };
    }
  }

  /** Tells Helix the stored outcome; a redemption no longer UNFULFILLED (404) counts as told. */
  async function send(rec: TwitchRedemptionDoc): Promise<boolean> {
    if (!rec.outcome) return false;
    await Redemptions.updateOne({ _id: rec._id }, { $inc: { sendAttempts: 1 } });
    try {
      await client.api.channelPoints.updateRedemptionStatusByIds(broadcasterId, rec.rewardId, [rec._id], rec.outcome);
    } catch (err) {
      if (httpStatus(err) !== 404) {
        log.warn({ redemptionId: rec._id, outcome: rec.outcome, status: httpStatus(err), err: err instanceof Error ? err.message : String(err) }, 'twitch redemption status not sent, retried on the next poll');
        return false;
      }
    }
    await Redemptions.updateOne({ _id: rec._id }, { $set: { sentAt: now() } });
    return true;
  }

  /** One redemption, exactly once: claim, enter, store the outcome, then tell Helix. */
  async function processRedemption(reward: TwitchRewardDoc, r: HelixCustomRewardRedemption): Promise<'done' | 'resent' | 'busy' | 'failed'> {
    const account = `twitch:${r.userId}`;
    const claimedAt = now();
    let resumed = false;
    try {
      await insertRaw(Redemptions, {
        _id: r.id,
        contestId: reward._id,
        rewardId: reward.rewardId,
        broadcasterId,
        account,
        claimedAt,
        outcome: null,
        reason: null,
        entryId: null,
        decidedAt: null,
        sentAt: null,
        sendAttempts: 0,
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const rec = await Redemptions.findById(r.id).lean<TwitchRedemptionDoc>();
      if (!rec) return 'busy';
      if (rec.outcome) return (await send(rec)) ? 'resent' : 'failed';
      if (rec.claimedAt.getTime() > claimedAt.getTime() - STALE_CLAIM_MS) return 'busy';
      // Take over the stale claim, unless another poller just did.
      const took = await Redemptions.updateOne({ _id: r.id, outcome: null, claimedAt: rec.claimedAt }, { $set: { claimedAt } });
      if (took.modifiedCount !== 1) return 'busy';
      resumed = true;
    }
    let decided: Awaited<ReturnType<typeof decide>>;
    try {
      decided = await decide(reward, r, account, resumed);
    } catch (err) {
      // Not a refusal (the database, say): let the next poll take it over as a resumed claim.
      await Redemptions.updateOne({ _id: r.id, outcome: null }, { $set: { claimedAt: new Date(0) } }).catch(() => undefined);
      throw err;
    }
    await Redemptions.updateOne({ _id: r.id }, { $set: { ...decided, decidedAt: now() } });
    const line = { redemptionId: r.id, contestId: reward._id, twitchUserId: r.userId, outcome: decided.outcome, reason: decided.reason, entryId: decided.entryId };
    if (decided.outcome === 'CANCELED') log.info(line, 'twitch redemption refused, points returned');
    else log.info(line, 'twitch redemption entered');
    const rec = await Redemptions.findById(r.id).lean<TwitchRedemptionDoc>();
    return rec && (await send(rec)) ? 'done' : 'failed';
  }

  /** Answers the reward's unfulfilled redemptions (all pages first: answering shifts the pages). */
  async function drain(reward: TwitchRewardDoc): Promise<{ seen: number; failed: number }> {
    const pending = await client.api.channelPoints.getRedemptionsForBroadcasterPaginated(broadcasterId, reward.rewardId, 'UNFULFILLED', { newestFirst: false }).getAll();
    let failed = 0;
    for (const r of pending) {
      try {
        const result = await processRedemption(reward, r);
        if (result === 'failed' || result === 'busy') failed += 1;
      } catch (err) {
        failed += 1;
        log.error({ redemptionId: r.id, contestId: reward._id, err: err instanceof Error ? err.message : String(err) }, 'twitch redemption not processed, retried on the next poll');
      }
    }
    return { seen: pending.length, failed };
  }

  async function retire(reward: TwitchRewardDoc, reason: string): Promise<void> {
    if (reason !== 'reward_deleted') {
      try {
        await client.api.channelPoints.updateCustomReward(broadcasterId, reward.rewardId, { isEnabled: false });
      } catch (err) {
        if (httpStatus(err) !== 404) throw err;
      }
    }
    await Rewards.updateOne({ _id: reward._id }, { $set: { retiredAt: now(), retiredReason: reason } });
    log.info({ contestId: reward._id, rewardId: reward.rewardId, reason }, 'twitch reward retired');
  }

  /** One round: rewards for newly open contests, then every live reward's redemptions; closed contests' rewards are disabled once answered. */
  async function pollOnce(): Promise<{ redemptions: number; failed: number }> {
    const open = await core.contests.list({ open: true, channel: 'twitch', limit: 200 });
    for (const c of open) {
      try {
        await ensureReward(c);
      } catch (err) {
        log.error({ contestId: c.id, status: httpStatus(err), err: err instanceof Error ? err.message : String(err) }, 'twitch reward not created, retried on the next poll');
      }
    }
    const openIds = new Set(open.map((c) => c.id));
    const live = await Rewards.find({ broadcasterId, retiredAt: null }).lean<TwitchRewardDoc[]>();
    let redemptions = 0;
    let failed = 0;
    for (const reward of live) {
      try {
        const res = await drain(reward);
        redemptions += res.seen;
        failed += res.failed;
        if (!openIds.has(reward._id) && res.failed === 0) {
          const status = await statusOf(core, reward._id);
          if (status !== 'open' && status !== 'scheduled') await retire(reward, `contest_${status}`);
        }
      } catch (err) {
        if (httpStatus(err) === 404) {
          await retire(reward, 'reward_deleted');
          continue;
        }
        failed += 1;
        log.error({ contestId: reward._id, status: httpStatus(err), err: err instanceof Error ? err.message : String(err) }, 'twitch redemptions not fetched, retried on the next poll');
      }
    }
    return { redemptions, failed };
  }

  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = true;

  function schedule(delay: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = pollOnce()
        .catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'twitch poll failed'))
        .finally(() => {
          running = null;
          schedule(pollMs);
        });
    }, delay);
  }

  return {
    pollOnce,
    ensureReward,
    async init(): Promise<void> {
      await Promise.all([Rewards.createIndexes(), Redemptions.createIndexes()]);
    },
    /** Polls now and then every pollMs until stop(). */
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    /** Stops polling; waits for a round in progress to finish. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
export type TwitchGiveaway = ReturnType<typeof createTwitchGiveaway>;
