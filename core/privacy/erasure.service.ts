import type { ContestService } from '../contests/contest.service.js';
import type { ConversationRepository } from '../conversations/conversation.repository.js';
import type { Outbox } from '../events/outbox.repository.js';
import type { AccountLinks } from '../members/account-link.service.js';
import type { MemberService } from '../members/member.service.js';
import type { PhoneProofService } from '../members/phone-proof.service.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import type { RateCounters } from '../shared/rate-counter.repository.js';
import type { TwitchStateRepository } from '../twitch/twitch-state.repository.js';
import type { WalletModels } from '../wallet/wallet.model.js';

/** A join left before consent: its phone and name are kept this long, then deleted. */
export const UNFINISHED_JOIN_TTL_MS = 24 * 3600_000;
/** Device registrations of a closed pass left after the closing push (a device that never listed it): deleted after. */
export const CLOSED_PASS_REGISTRATION_TTL_MS = 3 * 24 * 3600_000;

/**
 * "Delete my data", and what expires on its own.
 *
 * Erasing deletes or anonymizes everything the programme holds about a member: the member
 * document (phone, name, consent, opt-ins), the phone's registry entry, every channel link and
 * every linked chat's dialogue state, phone proofs and link codes, events not sent yet, the
 * account and member id on contest entries and wins (the public id and masked number stay, so
 * the published list still verifies), Twitch redemptions' account, the wallet pass (the name
 * leaves it at once; the worker pushes a pass that says the card is closed, and each device's
 * registration goes once the device has it). What stays, for accounting: the card, blocked,
 * with its ledger entries (amounts, the pseudonymous member id); and the keyed hashes of the
 * phone that keep its bonuses given once (bonus_claims, referral_counters).
 */
export function createErasure(deps: {
  members: MemberService;
  conversations: ConversationRepository;
  phoneProofs: PhoneProofService;
  accountLinks: AccountLinks;
  contests: Pick<ContestService, 'forgetMember'>;
  outbox: Pick<Outbox, 'forgetMember'>;
  twitch: Pick<TwitchStateRepository, 'forgetAccounts'>;
  wallet: Pick<WalletModels, 'Passes' | 'Registrations' | 'PassCache'>;
  rates: Pick<RateCounters, 'prune'>;
  clock: Clock;
}) {
  const { clock } = deps;
  const { Passes, Registrations, PassCache } = deps.wallet;

  return {
    async erase(memberId: string): Promise<void> {
      const member = await deps.members.byId(memberId);
      if (!member) throw new DomainError('member_not_found', 'no such member');
      const identities = await deps.members.identitiesOf(memberId);
      // What names the member outside their own document first, while the links still say where.
      await deps.contests.forgetMember(memberId, identities);
      await deps.phoneProofs.forget(memberId, identities);
      await deps.accountLinks.forget(memberId);
      await deps.outbox.forgetMember(memberId);
      await deps.twitch.forgetAccounts(identities.filter((i) => i.startsWith('twitch:')));
      for (const identity of identities) await deps.conversations.remove(identity);
      await deps.members.anonymize(memberId);
      if (member.cardNumber) {
        const now = clock.now();
        // The name leaves the stored pass now; the wallet worker draws the closed pass and pushes it.
        await Passes.updateOne({ _id: member.cardNumber }, { $set: { 'state.memberName': '', stateHash: `erased:${now.getTime()}`, closedAt: now, dirty: true, dirtyAt: now } });
        await PassCache.deleteOne({ _id: member.cardNumber });
      }
    },

    /**
     * What expires (the maintenance job, hourly): joins left before consent (their phone and
     * name) after a day, phone proofs after a day, link codes and rate counters once past,
     * and device registrations of closed passes the devices never came back for.
     */
    async expireStale(): Promise<{ joins: number; proofs: number; codes: number; counters: number; registrations: number }> {
      const now = clock.now().getTime();
      const joins = await deps.conversations.expireJoins(new Date(now - UNFINISHED_JOIN_TTL_MS));
      const proofs = await deps.phoneProofs.prune();
      const codes = await deps.accountLinks.prune();
      const counters = await deps.rates.prune();
      const closed = await Passes.find({ closedAt: { $lt: new Date(now - CLOSED_PASS_REGISTRATION_TTL_MS) } }, { _id: 1 }).lean<{ _id: string }[]>();
      const registrations = closed.length > 0 ? (await Registrations.deleteMany({ serial: { $in: closed.map((p) => p._id) } })).deletedCount : 0;
      return { joins, proofs, codes, counters, registrations };
    },
  };
}
export type Erasure = ReturnType<typeof createErasure>;
