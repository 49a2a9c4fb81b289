import type { AdminContestView } from '../contests/contest.views.js';
import type { ContestService } from '../contests/contest.service.js';
import { DEFAULT_LANGUAGE, type I18n, type Language } from '../i18n/i18n.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { HelixError, helixStatus, type HelixPort, type HelixRedemption, type TwitchLog } from './helix.port.js';
import type { RedemptionOutcome, TwitchRedemptionDoc, TwitchRewardDoc } from './twitch-state.model.js';
import type { TwitchStateRepository } from './twitch-state.repository.js';

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

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Channel-point giveaways: each open contest with the `twitch` channel gets a custom reward
 * (the viewer types their card number as the redemption's text); unfulfilled redemptions are
 * read and each becomes `contests.enter(...)` for `twitch:<userId>`. An entry → FULFILLED;
 * a refusal → CANCELED (Twitch gives the points back), the refusal code logged.
 *
 * Exactly once, across restarts and several pollers: the redemption id is inserted (unique
 * `_id`) before the entry is made, the outcome is stored before Helix is told, and a
 * redemption already recorded is only re-sent its status. A claim left without an outcome by a
 * crash is taken over after a minute; its entry may have been made, so `contest_already_entered`
 * then counts as FULFILLED. Helix calls go through the port; the schedule is the worker's
 * (workers/twitch/twitch-poll.job.ts).
 */
export function createTwitchGiveaway(deps: {
  contests: Pick<ContestService, 'enter' | 'get' | 'list'>;
  state: TwitchStateRepository;
  helix: HelixPort;
  i18n: I18n;
  clock: Clock;
  log: TwitchLog;
  options?: GiveawayOptions;
}) {
  const { contests, state, helix, i18n, log } = deps;
  const broadcasterId = helix.broadcaster.id;
  const cost = deps.options?.cost ?? 1;
  const lang = deps.options?.language ?? DEFAULT_LANGUAGE;
  const now = (): Date => deps.clock.now();

  /** The contest's status, 'deleted' when it no longer exists. */
  async function statusOf(contestId: string): Promise<string> {
    try {
      return (await contests.get(contestId)).status;
    } catch (err) {
      if (err instanceof DomainError && err.code === 'contest_not_found') return 'deleted';
      throw err;
    }
  }

  async function adoptByTitle(title: string): Promise<string | null> {
    const mine = await helix.myRewards();
    return mine.find((r) => r.title.toLowerCase() === title.toLowerCase())?.id ?? null;
  }

  /** The contest's reward, created on Twitch the first time (adopted when a crash left it unrecorded). */
  async function ensureReward(contest: AdminContestView): Promise<TwitchRewardDoc | null> {
    const known = await state.rewardOf(contest.id);
    if (known && known.broadcasterId === broadcasterId) return known.retiredAt ? null : known;
    const title = clip(i18n.t(lang, 'twitch:reward_title', { title: contest.title }), TITLE_MAX);
    const prompt = clip(i18n.t(lang, 'twitch:reward_prompt', { title: contest.title }), PROMPT_MAX);
    let rewardId: string;
    try {
      rewardId = (await helix.createReward({ title, cost, prompt })).id;
    } catch (err) {
      const adopted = err instanceof HelixError && err.status === 400 && err.body.includes('DUPLICATE') ? await adoptByTitle(title) : null;
      if (!adopted) throw err;
      rewardId = adopted;
    }
    const doc: TwitchRewardDoc = { _id: contest.id, broadcasterId, rewardId, title, createdAt: now(), retiredAt: null, retiredReason: null };
    await state.saveReward(doc);
    log.info({ contestId: contest.id, rewardId, title, cost }, 'twitch reward created');
    return doc;
  }

  async function decide(reward: TwitchRewardDoc, r: HelixRedemption, account: string, resumed: boolean): Promise<{ outcome: RedemptionOutcome; reason: string | null; entryId: string | null }> {
    try {
      const entered = await contests.enter({ contestId: reward._id, channel: 'twitch', account, cardInput: r.userInput });
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
    await state.countSendAttempt(rec._id);
    try {
      await helix.setRedemptionStatus(rec.rewardId, rec._id, rec.outcome);
    } catch (err) {
      if (helixStatus(err) !== 404) {
        log.warn({ redemptionId: rec._id, outcome: rec.outcome, status: helixStatus(err), err: message(err) }, 'twitch redemption status not sent, retried on the next poll');
        return false;
      }
    }
    await state.markSent(rec._id, now());
    return true;
  }

  /** One redemption, exactly once: claim, enter, store the outcome, then tell Helix. */
  async function processRedemption(reward: TwitchRewardDoc, r: HelixRedemption): Promise<'done' | 'resent' | 'busy' | 'failed'> {
    const account = `twitch:${r.userId}`;
    const claimedAt = now();
    let resumed = false;
    const claimed = await state.claim({
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
    if (!claimed) {
      const rec = await state.redemption(r.id);
      if (!rec) return 'busy';
      if (rec.outcome) return (await send(rec)) ? 'resent' : 'failed';
      if (rec.claimedAt.getTime() > claimedAt.getTime() - STALE_CLAIM_MS) return 'busy';
      if (!(await state.takeOver(r.id, rec.claimedAt, claimedAt))) return 'busy';
      resumed = true;
    }
    let decided: Awaited<ReturnType<typeof decide>>;
    try {
      decided = await decide(reward, r, account, resumed);
    } catch (err) {
      // Not a refusal (the database, say): let the next poll take it over as a resumed claim.
      await state.release(r.id).catch(() => undefined);
      throw err;
    }
    await state.decide(r.id, { ...decided, decidedAt: now() });
    const line = { redemptionId: r.id, contestId: reward._id, twitchUserId: r.userId, outcome: decided.outcome, reason: decided.reason, entryId: decided.entryId };
    if (decided.outcome === 'CANCELED') log.info(line, 'twitch redemption refused, points returned');
    else log.info(line, 'twitch redemption entered');
    const rec = await state.redemption(r.id);
    return rec && (await send(rec)) ? 'done' : 'failed';
  }

  /** Answers the reward's unfulfilled redemptions (all pages first: answering shifts the pages). */
  async function drain(reward: TwitchRewardDoc): Promise<{ seen: number; failed: number }> {
    const pending = await helix.unfulfilledRedemptions(reward.rewardId);
    let failed = 0;
    for (const r of pending) {
      try {
        const result = await processRedemption(reward, r);
        if (result === 'failed' || result === 'busy') failed += 1;
      } catch (err) {
        failed += 1;
        log.error({ redemptionId: r.id, contestId: reward._id, err: message(err) }, 'twitch redemption not processed, retried on the next poll');
      }
    }
    return { seen: pending.length, failed };
  }

  async function retire(reward: TwitchRewardDoc, reason: string): Promise<void> {
    if (reason !== 'reward_deleted') {
      try {
        await helix.disableReward(reward.rewardId);
      } catch (err) {
        if (helixStatus(err) !== 404) throw err;
      }
    }
    await state.retireReward(reward._id, reason, now());
    log.info({ contestId: reward._id, rewardId: reward.rewardId, reason }, 'twitch reward retired');
  }

  return {
    ensureReward,

    /** One round: rewards for newly open contests, then every live reward's redemptions; closed contests' rewards are disabled once answered. */
    async pollOnce(): Promise<{ redemptions: number; failed: number }> {
      const open = await contests.list({ open: true, channel: 'twitch', limit: 200 });
      for (const c of open) {
        try {
          await ensureReward(c);
        } catch (err) {
          log.error({ contestId: c.id, status: helixStatus(err), err: message(err) }, 'twitch reward not created, retried on the next poll');
        }
      }
      const openIds = new Set(open.map((c) => c.id));
      let redemptions = 0;
      let failed = 0;
      for (const reward of await state.liveRewards(broadcasterId)) {
        try {
          const res = await drain(reward);
          redemptions += res.seen;
          failed += res.failed;
          if (!openIds.has(reward._id) && res.failed === 0) {
            const status = await statusOf(reward._id);
            if (status !== 'open' && status !== 'scheduled') await retire(reward, `contest_${status}`);
          }
        } catch (err) {
          if (helixStatus(err) === 404) {
            await retire(reward, 'reward_deleted');
            continue;
          }
          failed += 1;
          log.error({ contestId: reward._id, status: helixStatus(err), err: message(err) }, 'twitch redemptions not fetched, retried on the next poll');
        }
      }
      return { redemptions, failed };
    },
  };
}
export type TwitchGiveaway = ReturnType<typeof createTwitchGiveaway>;
