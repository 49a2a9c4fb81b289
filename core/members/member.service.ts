import { randomBytes } from 'node:crypto';
import type { CardDoc } from '../cards/card.model.js';
import type { CardService } from '../cards/card.service.js';
import type { Ledger } from '../ledger/ledger.service.js';
import type { AppliedMovement } from '../ledger/ledger.types.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import { isMemberId, newMemberId, type Channel, type MemberDoc, type MemberModels } from './member.model.js';
import { CHAT_CHANNELS } from './identity.js';
import { MEMBER_NAME_MAX, memberName } from './member-name.js';
import { normalizePhone } from './phone.js';

export interface EnrollInput {
  phone: string;
  name: string;
  consent: boolean;
  consentVersion?: string;
  language?: 'ru' | 'en';
  channel: Channel;
  /** `telegram:<id>`, `vk:<id>` …: links this channel account to the member. */
  identity?: string;
  referralCode?: string;
  storeId?: string;
}

export interface EnrollResult {
  member: MemberDoc;
  card: CardDoc;
  /** False when the phone was already a member: this channel was linked, no second card. */
  created: boolean;
  bonuses: AppliedMovement[];
}

const REFERRAL_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
function referralCode(): string {
  return [...randomBytes(8)].map((b) => REFERRAL_ALPHABET[b % REFERRAL_ALPHABET.length]).join('');
}

export function createMemberService(deps: {
  models: MemberModels;
  ledger: Ledger;
  cards: CardService;
  settings: () => Promise<ProgrammeSettings>;
  clock?: Clock;
}) {
  const { Members, Identities, ReferralCounters } = deps.models;
  const clock = deps.clock ?? systemClock;

  async function byId(id: string): Promise<MemberDoc | null> {
    return isMemberId(id) ? Members.findById(id).lean<MemberDoc>() : null;
  }

  async function linkIdentity(memberId: string, identity: string): Promise<void> {
    try {
      await insertRaw(Identities, { _id: identity, memberId, createdAt: clock.now() });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const owner = await Identities.findById(identity).lean();
      if (owner?.memberId !== memberId) throw new DomainError('account_linked_elsewhere', 'this account is linked to another member');
    }
  }

  /** Reserves a number on the member first, then creates the card: a retry finds the reservation. */
  async function ensureCard(member: MemberDoc, settings: ProgrammeSettings): Promise<CardDoc> {
    const prefix = (member.storeId ? settings.cardPrefixes.stores[member.storeId] : undefined) ?? settings.cardPrefixes.channels[member.joinedVia] ?? '70';
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await Members.findById(member._id).lean<MemberDoc>();
      if (current?.cardNumber) {
        const existing = await deps.cards.byNumber(current.cardNumber);
        if (existing) return existing;
        return deps.cards.issue(String(member._id), prefix, settings, current.cardNumber);
      }
      const card = await deps.cards.issue(String(member._id), prefix, settings);
      const r = await Members.updateOne({ _id: member._id, cardNumber: null }, { $set: { cardNumber: card._id } });
      if (r.modifiedCount === 1) return card;
      // Another call reserved a number first; ours stays unused and is blocked below.
      await deps.cards.setStatus(card._id, 'blocked');
    }
    throw new Error('could not issue a card');
  }

  /** Welcome bonus and referral bonuses, each once (idempotency keys name the member). */
  async function completeRegistration(member: MemberDoc, card: CardDoc, settings: ProgrammeSettings): Promise<AppliedMovement[]> {
    const out: AppliedMovement[] = [];
    const id = String(member._id);
    if (settings.welcomeBonus > 0) {
      // Rule: welcome bonus once per member on finished registration.
      out.push(await deps.ledger.apply({ key: `welcome:${id}`, card: card._id, type: 'welcome', effect: 'credit', points: settings.welcomeBonus, ref: { memberId: id } }));
    }
    if (member.referrerId && settings.referral.bonus > 0) {
      const referrer = await byId(member.referrerId);
      if (referrer?.cardNumber && referrer.status === 'active' && (await withinReferralCap(referrer, id, settings))) {
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
  }

  /**
   * Rule: a monthly cap of rewarded invitations per referrer. One counter document per
   * referrer and month; the conditional upsert counts each invitee once, atomically.
   */
  async function withinReferralCap(referrer: MemberDoc, inviteeId: string, settings: ProgrammeSettings): Promise<boolean> {
    const month = clock.now().toISOString().slice(0, 7);
    const _id = `${String(referrer._id)}:${month}`;
    try {
      const r = await ReferralCounters.updateOne(
        { _id, count: { $lt: settings.referral.monthlyCap }, invitees: { $ne: inviteeId } },
        { $inc: { count: 1 }, $push: { invitees: inviteeId } },
        { upsert: true },
      );
      if (r.modifiedCount === 1 || r.upsertedCount === 1) return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const doc = await ReferralCounters.findById(_id).lean();
    return doc?.invitees.includes(inviteeId) ?? false;
  }

  return {
    byId,
    linkIdentity,

    async init(): Promise<void> {
      await Promise.all([Members.createIndexes(), Identities.createIndexes(), ReferralCounters.createIndexes()]);
    },

    /**
     * Registration from any channel or the till. A phone already known links the new channel
     * account to that member and issues nothing new: one member, one phone, one card.
     */
    async enroll(input: EnrollInput): Promise<EnrollResult> {
      const phone = normalizePhone(input.phone);
      if (!phone) throw new DomainError('phone_invalid', 'phone number is not valid');
      if (!input.consent) throw new DomainError('consent_required', 'consent to personal data processing is required');
      const name = memberName(input.name);
      if (name === null) throw new DomainError('validation_failed', `name must be 1–${MEMBER_NAME_MAX} characters and not start with "/"`, { field: 'name' });
      const settings = await deps.settings();

      let member = await Members.findOne({ phone }).lean<MemberDoc>();
      let created = false;
      if (!member) {
        const referrer = input.referralCode ? await Members.findOne({ referralCode: input.referralCode, status: 'active' }).lean<MemberDoc>() : null;
        const now = clock.now();
        const doc: MemberDoc = {
          _id: newMemberId(),
          phone,
          name,
          language: input.language ?? 'ru',
          consent: { at: now, version: input.consentVersion ?? settings.consentTextVersion },
          status: 'active',
          cardNumber: null,
          referralCode: referralCode(),
          // Rule: no self-referral (the same phone cannot invite itself).
          referrerId: referrer && referrer.phone !== phone ? String(referrer._id) : null,
          joinedVia: input.channel,
          storeId: input.storeId ?? null,
          optIn: { [input.channel]: true, wallet: true },
          notifications: true,
          roles: [],
          birthday: null,
          registeredAt: now,
          erasedAt: null,
          createdAt: now,
          updatedAt: now,
        };
        try {
          await insertRaw(Members, doc);
          member = doc;
          created = true;
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          member = await Members.findOne({ phone }).lean<MemberDoc>();
          if (!member) throw err;
        }
      }
      if (member.status !== 'active') throw new DomainError('forbidden', 'this member cannot use the programme');
      if (input.identity) await linkIdentity(String(member._id), input.identity);
      const card = await ensureCard(member, settings);
      // Always run: the keys make it a no-op when done, and it finishes a registration that
      // crashed half-way (member inserted, bonuses not yet applied).
      const bonuses = (await completeRegistration(member, card, settings)).filter((b) => !b.replayed);
      const fresh = await deps.cards.byNumber(card._id);
      return { member: (await byId(String(member._id))) ?? member, card: fresh ?? card, created, bonuses };
    },

    async findByPhone(raw: string): Promise<MemberDoc | null> {
      const phone = normalizePhone(raw);
      if (!phone) throw new DomainError('phone_invalid', 'phone number is not valid');
      return Members.findOne({ phone, status: { $ne: 'erased' } }).lean<MemberDoc>();
    },

    async findByIdentity(identity: string): Promise<MemberDoc | null> {
      const link = await Identities.findById(identity).lean();
      if (!link) return null;
      const m = await byId(link.memberId);
      return m && m.status !== 'erased' ? m : null;
    },

    /** The chat identities linked to a member (`telegram:…`, `vk:…`, `console:…`), sorted: where notices and codes go. */
    async chatIdentitiesOf(memberId: string): Promise<string[]> {
      const links = await Identities.find({ memberId }, { _id: 1 }).sort({ _id: 1 }).lean<{ _id: string }[]>();
      return links.map((l) => l._id).filter((id) => CHAT_CHANNELS.some((c) => id.startsWith(`${c}:`)));
    },

    async findByReferralCode(code: string): Promise<MemberDoc | null> {
      return Members.findOne({ referralCode: code, status: 'active' }).lean<MemberDoc>();
    },

    async update(memberId: string, patch: Partial<Pick<MemberDoc, 'language' | 'notifications' | 'name' | 'optIn' | 'roles' | 'birthday'>>): Promise<MemberDoc> {
      const m = await Members.findOneAndUpdate({ _id: memberId }, { $set: { ...patch, updatedAt: clock.now() } }, { returnDocument: 'after' }).lean<MemberDoc>();
      if (!m) throw new DomainError('member_not_found', 'no such member');
      return m;
    },

    /** Friends who joined by this member's link, and the referral points the member earned. */
    async referralStats(memberId: string): Promise<{ invited: number; points: number }> {
      const invited = await Members.countDocuments({ referrerId: memberId });
      // Only what this member earned as the one who invited (not their own bonus for joining by a link).
      const points = await deps.ledger.sumFor({ type: 'referral', role: 'referrer', memberId });
      return { invited, points };
    },

    /**
     * "Delete my data": withdraws consent and anonymises the member (phone, name, channel
     * links, opt-ins). The card and its ledger stay, blocked: accounting must keep totals.
     */
    async erase(memberId: string): Promise<void> {
      const m = await byId(memberId);
      if (!m) throw new DomainError('member_not_found', 'no such member');
      await Identities.deleteMany({ memberId });
      await Members.updateOne(
        { _id: m._id },
        { $set: { phone: `erased:${memberId}`, name: '—', consent: null, status: 'erased', optIn: {}, notifications: false, birthday: null, erasedAt: clock.now(), updatedAt: clock.now() } },
      );
      if (m.cardNumber) await deps.cards.setStatus(m.cardNumber, 'blocked').catch(() => undefined);
    },
  };
}
export type MemberService = ReturnType<typeof createMemberService>;
