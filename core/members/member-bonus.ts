import type { CardDoc } from '../cards/card.model.js';
import type { Ledger } from '../ledger/ledger.service.js';
import type { AppliedMovement } from '../ledger/ledger.types.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import type { MemberDoc, MemberModel, ReferralCounterModel } from './member.model.js';
import type { PhoneHasher } from './phone-hash.js';
import { hasPhone, type PhoneRegistry } from './phone-registry.js';
import type { BonusClaimModel } from './phone-registry.model.js';

type BonusKind = 'welcome' | 'referral';

/**
 * The bonuses of a registration: the welcome bonus, and the referral bonuses of the friend who
 * joined and of the member who invited them. Each is given once per PHONE, ever: a keyed hash
 * of the number is claimed first (bonus_claims, `_id` = kind + hash), so erasing one's data and
 * joining again, or typing a number and losing it to its owner, mints nothing. And only for a
 * proved number: a typed one could be anyone's (or no one's), so its bonuses wait for the proof.
 */
export function createMemberBonuses(deps: {
  Members: MemberModel;
  BonusClaims: BonusClaimModel;
  ReferralCounters: ReferralCounterModel;
  registry: PhoneRegistry;
  ledger: Ledger;
  hashPhone: PhoneHasher;
  clock: Clock;
}) {
  const { BonusClaims, ReferralCounters, registry, clock } = deps;

  /** True when this member holds the claim (just made, or made by an earlier run of the same registration). */
  async function claim(kind: BonusKind, phoneHash: string, memberId: string): Promise<boolean> {
    const _id = `${kind}:${phoneHash}`;
    try {
      await insertRaw(BonusClaims, { _id, memberId, at: clock.now() });
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    return (await BonusClaims.findById(_id).lean())?.memberId === memberId;
  }

  /** A member holding a proved number: its hash; else null. */
  async function provedHash(m: MemberDoc): Promise<string | null> {
    if (!hasPhone(m) || m.status !== 'active') return null;
    const h = await registry.holder(m.phone);
    return h?.reg.proved && String(h.member._id) === String(m._id) ? deps.hashPhone(m.phone) : null;
  }

  /**
   * Rule: a monthly cap of rewarded invitations per referrer. One counter per referrer's phone
   * (so erasing and joining again starts no new count) and month, holding the invited phones'
   * hashes; the conditional upsert counts each invited phone once, atomically.
   */
  async function withinReferralCap(referrerHash: string, inviteeHash: string, settings: ProgrammeSettings): Promise<boolean> {
    const month = clock.now().toISOString().slice(0, 7);
    const _id = `${referrerHash}:${month}`;
    try {
      const r = await ReferralCounters.updateOne(
        { _id, count: { $lt: settings.referral.monthlyCap }, invitees: { $ne: inviteeHash } },
        { $inc: { count: 1 }, $push: { invitees: inviteeHash } },
        { upsert: true },
      );
      if (r.modifiedCount === 1 || r.upsertedCount === 1) return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const doc = await ReferralCounters.findById(_id).lean();
    return doc?.invitees.includes(inviteeHash) ?? false;
  }

  return {
    /**
     * Gives what the registration of `member` earns, once: nothing while its number is not
     * proved (called again when it is). The ledger keys name the member, so a repeated call is
     * a no-op; the claims make it once per phone.
     */
    async grant(member: MemberDoc, card: CardDoc, settings: ProgrammeSettings, byId: (id: string) => Promise<MemberDoc | null>): Promise<AppliedMovement[]> {
      const hash = await provedHash(member);
      if (!hash) return [];
      const out: AppliedMovement[] = [];
      const id = String(member._id);
      // Rule: the welcome bonus on finished registration, once per phone.
      if (settings.welcomeBonus > 0 && (await claim('welcome', hash, id))) {
        out.push(await deps.ledger.apply({ key: `welcome:${id}`, card: card._id, type: 'welcome', effect: 'credit', points: settings.welcomeBonus, ref: { memberId: id } }));
      }
      if (member.referrerId && settings.referral.bonus > 0) {
        const referrer = await byId(member.referrerId);
        const referrerHash = referrer?.cardNumber ? await provedHash(referrer) : null;
        // Rule: no self-referral (the same phone cannot invite itself); the invited phone counts once, ever.
        if (referrer?.cardNumber && referrerHash && referrerHash !== hash && (await claim('referral', hash, id)) && (await withinReferralCap(referrerHash, hash, settings))) {
          // Rule: both get the bonus when the invited person finishes registration.
          for (const [who, cardNumber] of [['referrer', referrer.cardNumber], ['invitee', card._id]] as const) {
            out.push(
              await deps.ledger.apply({
                key: `referral:${id}:${who}`,
                card: cardNumber,
                type: 'referral',
                effect: 'credit',
                points: settings.referral.bonus,
                // The invited friend, on both entries; `role` tells the two bonuses apart.
                ref: { memberId: id },
                role: who,
              }),
            );
          }
        }
      }
      return out;
    },

    /** Erasure: the claims stay (a bonus stays given for that phone), without the member's id. */
    async forgetMember(memberId: string): Promise<void> {
      await BonusClaims.updateMany({ memberId }, { $set: { memberId: null } });
    },

    async init(): Promise<void> {
      await BonusClaims.createIndexes();
    },
  };
}
export type MemberBonuses = ReturnType<typeof createMemberBonuses>;
