import { randomBytes } from 'node:crypto';
import { maskCardNumber, normalizeCardNumber, parseCardNumber } from '../cards/card-number.js';
import type { CardDoc } from '../cards/card.model.js';
import type { CardService } from '../cards/card.service.js';
import { parseLinkCode, type AccountLinks } from '../members/account-link.service.js';
import type { MemberService } from '../members/member.service.js';
import { levelFor } from '../programme/rules.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import type { RateCounters, RateLimit } from '../shared/rate-counter.repository.js';
import type { ContestLifecycle } from './contest.lifecycle.js';
import { CONTEST_CHANNELS, type ContestChannel, type ContestDoc, type ContestEntryDoc, type ContestModels } from './contest.model.js';
import type { ContestThrottle } from './contest.throttle.js';

export interface EnterInput {
  contestId: string;
  channel: ContestChannel;
  /** The social account, `<channel>:<id>` (e.g. `telegram:123`). */
  account: string;
  /** What the person typed. */
  cardInput: string;
}

export interface EnterResult {
  /** The entry's public id: the participant finds it in the published list. */
  entryId: string;
  masked: string;
  contest: { id: string; title: string; closesAt: Date };
}

/**
 * Why an entry is not eligible (`details.reason` of contest_not_eligible), for the bot's reply:
 * the account is no member's (`not_a_member`), the number is not the card of the account's
 * member (`not_your_card`: another's card, a card without a member, or no card at all; one
 * answer for all, so it tells nothing about the number), a Twitch link code that does not
 * work (`link_code`), or the contest's conditions.
 */
export type IneligibleReason = 'no_member' | 'member_inactive' | 'joined_after' | 'min_level' | 'not_a_member' | 'not_your_card' | 'link_code';

const ACCOUNT_RE = /^[a-z]+:[\x21-\x7e]{1,128}$/;
/** A claim of an account left by a crash (no entry behind it) is given up after this long. */
const STALE_CLAIM_MS = 60_000;

/** The rank of a card among the spend levels: reached by spend, or pinned by an admin (manual levels like staff add none). */
function spendRank(settings: ProgrammeSettings, card: CardDoc): number {
  const bySpend = settings.levels.findIndex((l) => l.id === levelFor(settings, card.spentKopecks, null).id);
  const pinned = card.manualLevelId ? settings.levels.findIndex((l) => l.id === card.manualLevelId) : -1;
  return Math.max(bySpend, pinned);
}

function notEligible(reason: IneligibleReason, extra: Record<string, unknown> = {}): DomainError {
  return new DomainError('contest_not_eligible', `this card may not enter: ${reason}`, { reason, ...extra });
}

/** Rule: at most 100 wrong numbers per contest in 10 minutes from all accounts together; then wrong numbers are refused unread. */
export const DEFAULT_CONTEST_WRONG_CAP: RateLimit = { max: 100, windowMs: 10 * 60_000 };

/**
 * Entering a contest with the card of one's own member, from any channel: an account enters
 * only with the card of the member it is linked to (a Twitch account links itself with a code
 * from the member's chat). A card number alone proves nothing (it is printed on receipts).
 */
export function createContestEntry(deps: {
  models: ContestModels;
  lifecycle: ContestLifecycle;
  throttle: ContestThrottle;
  cards: Pick<CardService, 'resolve'>;
  members: Pick<MemberService, 'byId' | 'findByIdentity'>;
  links: Pick<AccountLinks, 'redeem'>;
  rates: Pick<RateCounters, 'hit' | 'peek'>;
  wrongCap?: RateLimit;
  settings: () => Promise<ProgrammeSettings>;
  clock: Clock;
}) {
  const { Entries, Accounts } = deps.models;
  const { clock } = deps;
  const wrongCap = deps.wrongCap ?? DEFAULT_CONTEST_WRONG_CAP;

  function checkOpen(c: ContestDoc, channel: ContestChannel, now: Date): void {
    if (c.closedAt || now < c.opensAt || now >= c.closesAt) {
      throw new DomainError('contest_not_open', 'the contest is not taking entries', { opensAt: c.opensAt.toISOString(), closesAt: c.closesAt.toISOString() });
    }
    if (!c.channels.includes(channel)) throw new DomainError('contest_not_open', `the contest does not run on ${channel}`, { reason: 'channel' });
  }

  /** Counts a wrong number against the account (and the contest) and refuses it. */
  async function wrong(input: EnterInput, code: 'invalid_card_number' | 'not_your_card' | 'link_code', typed: string): Promise<never> {
    await deps.rates.hit('contest-wrong', input.contestId, wrongCap);
    await deps.throttle.recordWrong(input.account, { contestId: input.contestId, channel: input.channel, code, typed });
    if (code === 'invalid_card_number') throw new DomainError('invalid_card_number', 'card number is malformed');
    throw notEligible(code);
  }

  /**
   * The card this account may enter with: its own member's, named by the number typed (or, on
   * Twitch, by a link code from the member's chat). Another's card, a card without a member
   * and no card at all get one answer; past the contest's cap on wrong numbers they are
   * refused without reading anything.
   */
  async function ownCard(input: EnterInput): Promise<CardDoc> {
    let member = await deps.members.findByIdentity(input.account);
    let viaCode = false;
    if (input.channel === 'twitch' && parseLinkCode(input.cardInput)) {
      const linked = await deps.links.redeem(input.cardInput, input.account);
      if (!linked) return wrong(input, 'link_code', 'link code');
      member = await deps.members.byId(linked);
      viaCode = true;
    }
    const parsed = viaCode ? null : parseCardNumber(input.cardInput);
    if (parsed && !parsed.ok) {
      const n = normalizeCardNumber(input.cardInput);
      return wrong(input, 'invalid_card_number', n ? maskCardNumber(n) : `${input.cardInput.length} chars`);
    }
    if (!member?.cardNumber) throw notEligible('not_a_member');
    if (parsed?.ok && parsed.number !== member.cardNumber) {
      if ((await deps.rates.peek('contest-wrong', input.contestId, wrongCap)) >= wrongCap.max) {
        deps.throttle.log.warn({ contestId: input.contestId, channel: input.channel, account: input.account }, 'contest entry refused: the contest had too many wrong numbers');
        throw new DomainError('contest_throttled', 'too many wrong card numbers in this contest; try again later', { retryAfterSeconds: Math.ceil(wrongCap.windowMs / 1000) });
      }
      // A plastic card linked to the member's card is theirs too.
      const typed = await deps.cards.resolve(parsed.number, { allowInactive: true }).catch(() => null);
      if (typed?._id !== member.cardNumber) return wrong(input, 'not_your_card', maskCardNumber(parsed.number));
    }
    return deps.cards.resolve(member.cardNumber);
  }

  async function checkEligible(c: ContestDoc, card: CardDoc): Promise<void> {
    const member = card.memberId ? await deps.members.byId(card.memberId) : null;
    if (!member) throw notEligible('no_member');
    if (member.status !== 'active') throw notEligible('member_inactive');
    if (c.joinedBefore && (member.registeredAt ?? member.createdAt).getTime() >= c.joinedBefore.getTime()) {
      throw notEligible('joined_after', { joinedBefore: c.joinedBefore.toISOString() });
    }
    if (c.minLevel) {
      const settings = await deps.settings();
      const needed = settings.levels.findIndex((l) => l.id === c.minLevel);
      // A level removed from the settings since the contest was created lets nobody in: safer than everybody.
      if (needed < 0 || spendRank(settings, card) < needed) throw notEligible('min_level', { minLevel: c.minLevel });
    }
  }

  /** One card per account and contest: the account's claim names its card. */
  async function claimAccount(key: string, input: EnterInput, card: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = clock.now();
      try {
        await insertRaw(Accounts, { _id: key, card, at: now });
        return;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const claim = await Accounts.findById(key).lean();
      if (!claim) continue;
      if (claim.card === card) return;
      const entered = await Entries.findById(`${input.contestId}|${claim.card}`).lean();
      if (entered?.account === input.account || claim.at.getTime() > now.getTime() - STALE_CLAIM_MS) {
        throw new DomainError('contest_already_entered', 'this account already entered with another card', { sameCard: false });
      }
      const taken = await Accounts.updateOne({ _id: key, card: claim.card }, { $set: { card, at: now } });
      if (taken.modifiedCount === 1) return;
    }
    throw new DomainError('contest_already_entered', 'this account already entered with another card', { sameCard: false });
  }

  async function insertEntry(doc: ContestEntryDoc, accountKey: string): Promise<void> {
    try {
      await insertRaw(Entries, doc);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await Entries.findById(doc._id).lean();
      if (existing?.account === doc.account) throw new DomainError('contest_already_entered', 'this card already entered from this account', { sameCard: true });
      await Accounts.deleteOne({ _id: accountKey, card: doc.card });
      throw new DomainError('contest_card_taken', 'this card already entered from another account');
    }
  }

  /**
   * Enters a contest. Refusals, in the order checked: contest_throttled, contest_not_found,
   * contest_not_open, invalid_card_number, contest_not_eligible (not_a_member, not_your_card,
   * link_code), card_blocked (card_replaced), contest_not_eligible (the contest's conditions),
   * contest_already_entered, contest_card_taken.
   */
  async function enter(input: EnterInput): Promise<EnterResult> {
    if (!(CONTEST_CHANNELS as readonly string[]).includes(input.channel)) throw new DomainError('validation_failed', `unknown channel ${input.channel}`);
    if (!ACCOUNT_RE.test(input.account) || !input.account.startsWith(`${input.channel}:`)) {
      throw new DomainError('validation_failed', 'account must be <channel>:<id> of the channel entered from');
    }
    await deps.throttle.check(input.account, { contestId: input.contestId, channel: input.channel });
    const contest = await deps.lifecycle.get(input.contestId);
    checkOpen(contest, input.channel, clock.now());
    const card = await ownCard(input);
    await checkEligible(contest, card);

    const accountKey = `${contest._id}|${input.account}`;
    const doc: ContestEntryDoc = {
      _id: `${contest._id}|${card._id}`,
      contestId: contest._id,
      publicId: randomBytes(16).toString('hex'),
      card: card._id,
      masked: maskCardNumber(card._id),
      memberId: card.memberId,
      channel: input.channel,
      account: input.account,
      at: clock.now(),
      included: false,
    };
    const gateToken = await deps.lifecycle.gate.acquire(contest._id);
    if (!gateToken) throw new DomainError('contest_not_open', 'the contest has just closed');
    try {
      await claimAccount(accountKey, input, card._id);
      await insertEntry(doc, accountKey);
    } finally {
      await deps.lifecycle.gate.release(contest._id, gateToken);
    }
    // Only an entry held up past the gate's lifetime can miss a seal; it is withdrawn, not kept outside the draw.
    const after = await deps.lifecycle.get(contest._id);
    if (after.entriesDigest && !(await Entries.exists({ _id: doc._id, included: true }))) {
      await Entries.deleteOne({ _id: doc._id, included: false });
      await Accounts.deleteOne({ _id: accountKey, card: card._id });
      throw new DomainError('contest_not_open', 'the contest closed while the entry was being written');
    }
    return { entryId: doc.publicId, masked: doc.masked, contest: { id: contest._id, title: contest.title, closesAt: contest.closesAt } };
  }

  return { enter };
}
