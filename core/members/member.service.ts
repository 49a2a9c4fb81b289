import { randomBytes } from 'node:crypto';
import type { CardDoc } from '../cards/card.model.js';
import type { CardService } from '../cards/card.service.js';
import type { Ledger } from '../ledger/ledger.service.js';
import type { AppliedMovement } from '../ledger/ledger.types.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import type { MemberListing } from './member-listing.js';
import { CHAT_CHANNELS } from './identity.js';
import type { MemberBonuses } from './member-bonus.js';
import { MEMBER_NAME_MAX, memberName } from './member-name.js';
import { isMemberId, newMemberId, type Channel, type ConsentBy, type ConsentRecord, type MemberDoc, type MemberModels } from './member.model.js';
import { normalizePhone } from './phone.js';
import { hasPhone, noPhone, type Holding, type PhoneRegistry } from './phone-registry.js';
import type { PhoneProofVia } from './phone-registry.model.js';

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
  /**
   * Whether this enrolment proves the number is the person's: their own contact in a chat, or
   * the shop vouching (the till's store key, the admin token). Default: true for the till and
   * the admin, false otherwise (a typed number proves nothing).
   */
  proved?: boolean;
  /** Who took the consent; default: the cashier at the till, the operator for the admin, else the member. */
  consentBy?: ConsentBy;
}

/** The member's number after an enrolment: proved, only typed (bonuses wait), or none (someone else's: not given). */
export type PhoneState = 'proved' | 'unproved' | 'none';

export interface EnrollResult {
  member: MemberDoc;
  card: CardDoc;
  /** False when the phone was already a member's and this call proved it: this channel was linked, no second card. */
  created: boolean;
  bonuses: AppliedMovement[];
  phone: PhoneState;
  /** True when this proof took the number from a member who had only typed it. */
  displaced: boolean;
}

const REFERRAL_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
function referralCode(): string {
  return [...randomBytes(8)].map((b) => REFERRAL_ALPHABET[b % REFERRAL_ALPHABET.length]).join('');
}

/** Enrolments the shop vouches for: the store key or the admin token is the credential. */
const SHOP_VOUCHED: readonly Channel[] = ['till', 'admin'];

function proofVia(channel: Channel, proved: boolean): PhoneProofVia | 'typed' {
  if (!proved) return 'typed';
  return channel === 'till' ? 'till' : channel === 'admin' ? 'admin' : 'contact';
}

function consentTaker(channel: Channel): ConsentBy {
  return channel === 'till' ? 'cashier' : channel === 'admin' ? 'admin' : 'member';
}

export function createMemberService(deps: {
  models: MemberModels;
  registry: PhoneRegistry;
  bonuses: MemberBonuses;
  ledger: Ledger;
  cards: CardService;
  settings: () => Promise<ProgrammeSettings>;
  clock?: Clock;
  /** The embedded store's member list and name index (member-listing.ts). */
  listing?: Pick<MemberListing, 'joined' | 'renamed'>;
}) {
  const { Members, Identities } = deps.models;
  const { registry, bonuses } = deps;
  const clock = deps.clock ?? systemClock;

  async function byId(id: string): Promise<MemberDoc | null> {
    return isMemberId(id) ? Members.findById(id).lean<MemberDoc>() : null;
  }

  /** Every channel identity linked to a member, chats or not (`twitch:…` too), sorted. */
  async function identitiesOf(memberId: string): Promise<string[]> {
    const links = await Identities.find({ memberId }, { _id: 1 }).sort({ _id: 1 }).lean<{ _id: string }[]>();
    return links.map((l) => l._id);
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
    // Channels without a prefix of their own in the settings (the web join page) take the shop's default.
    const byChannel: Partial<Record<Channel, string>> = settings.cardPrefixes.channels;
    const prefix = (member.storeId ? settings.cardPrefixes.stores[member.storeId] : undefined) ?? byChannel[member.joinedVia] ?? '70';
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

  /**
   * Writes the number on a member's document once the registry gave it to them. A member
   * still holding it there after a crashed displacement is released first.
   */
  async function writePhone(write: () => Promise<unknown>, phone: string, memberId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        return;
      } catch (err) {
        if (!isDuplicateKey(err) || attempt >= 2 || !(await registry.clearLeftover(phone, memberId))) throw err;
      }
    }
  }

  async function phoneState(member: MemberDoc): Promise<PhoneState> {
    if (!hasPhone(member)) return 'none';
    const h = await registry.holder(member.phone);
    return h && String(h.member._id) === String(member._id) ? (h.reg.proved ? 'proved' : 'unproved') : 'none';
  }

  /** A new member document (not written yet). */
  async function newMemberDoc(input: EnrollInput, id: MemberDoc['_id'], phone: string, name: string, settings: ProgrammeSettings): Promise<MemberDoc> {
    const referrer = input.referralCode ? await Members.findOne({ referralCode: input.referralCode, status: 'active' }).lean<MemberDoc>() : null;
    const now = clock.now();
    return {
      _id: id,
      phone,
      name,
      language: input.language ?? 'ru',
      consent: { at: now, version: input.consentVersion ?? settings.consentTextVersion, channel: input.channel, by: input.consentBy ?? consentTaker(input.channel) },
      status: 'active',
      cardNumber: null,
      referralCode: referralCode(),
      // Rule: no self-referral (the same phone cannot invite itself).
      referrerId: referrer && referrer.phone !== phone ? String(referrer._id) : null,
      joinedVia: input.channel,
      storeId: input.storeId ?? null,
      // Marketing is a choice of its own (asked after joining in a chat, or set by an import).
      optIn: {},
      notifications: true,
      roles: [],
      birthday: null,
      registeredAt: now,
      erasedAt: null,
      phoneReleasedAt: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  return {
    byId,
    linkIdentity,
    phoneState,

    async init(): Promise<void> {
      await Promise.all([Members.createIndexes(), Identities.createIndexes(), deps.models.ReferralCounters.createIndexes(), registry.init(), bonuses.init()]);
      await registry.backfill();
    },

    /**
     * Registration from any channel or the till. A number held by a member who proved it links
     * the new channel account to that member when this enrolment proves it too (one member,
     * one phone, one card). A proof takes a number from a member who had only typed it (they
     * keep their card and are told on their next visit) and gives the prover their own member.
     * A typed number proves nothing: typed when free, it is held unproved (bonuses wait for a
     * proof); typed when someone holds it, the new member gets no number at all, and nothing
     * tells the typist which case it was.
     */
    async enroll(input: EnrollInput): Promise<EnrollResult> {
      const phone = normalizePhone(input.phone);
      if (!phone) throw new DomainError('phone_invalid', 'phone number is not valid');
      if (!input.consent) throw new DomainError('consent_required', 'consent to personal data processing is required');
      const name = memberName(input.name);
      if (name === null) throw new DomainError('validation_failed', `name must be 1–${MEMBER_NAME_MAX} characters and not start with "/"`, { field: 'name' });
      const settings = await deps.settings();
      const proved = input.proved ?? SHOP_VOUCHED.includes(input.channel);

      let member: MemberDoc;
      let created = false;
      let displaced = false;
      const held = await registry.holder(phone);
      if (held?.reg.proved && proved) {
        member = held.member;
      } else {
        const id = newMemberId();
        const took = await registry.take(phone, String(id), { proved, via: proofVia(input.channel, proved) });
        if (!took.ok && took.holder.reg.proved && proved) {
          // Proved by someone else a moment ago: the same person (both proved it), so the same member.
          member = took.holder.member;
        } else {
          const doc = await newMemberDoc(input, id, took.ok ? phone : noPhone(String(id)), name, settings);
          if (took.ok) await writePhone(() => insertRaw(Members, doc), phone, String(id));
          else await insertRaw(Members, doc);
          await deps.listing?.joined([{ id: String(id), name: doc.name }]);
          member = doc;
          created = true;
          displaced = took.ok && took.displaced !== null;
        }
      }
      if (member.status !== 'active') throw new DomainError('forbidden', 'this member cannot use the programme');
      if (input.identity) await linkIdentity(String(member._id), input.identity);
      const card = await ensureCard(member, settings);
      // Always run: a no-op when done (or while the number is unproved), and it finishes a
      // registration that crashed half-way (member inserted, bonuses not yet applied).
      const granted = (await bonuses.grant(member, card, settings, byId)).filter((b) => !b.replayed);
      const fresh = (await byId(String(member._id))) ?? member;
      return { member: fresh, card: (await deps.cards.byNumber(card._id)) ?? card, created, bonuses: granted, phone: await phoneState(fresh), displaced };
    },

    /**
     * A member proves a number (the shop vouches at the till with the member's card, or the
     * member proves it from a chat already theirs): an unproved number of theirs becomes proved,
     * a member without one gets it (taking it from someone who had only typed it), and the
     * bonuses that waited for the proof are given. A number someone else proved is refused
     * with member_exists.
     */
    async confirmPhone(memberId: string, raw: string, via: PhoneProofVia): Promise<{ member: MemberDoc; card: CardDoc; bonuses: AppliedMovement[]; displaced: boolean }> {
      const phone = normalizePhone(raw);
      if (!phone) throw new DomainError('phone_invalid', 'phone number is not valid');
      const member = await byId(memberId);
      if (member?.status !== 'active') throw new DomainError('member_not_found', 'no such member');
      if (hasPhone(member) && member.phone !== phone) throw new DomainError('validation_failed', 'the member already has another phone number', { field: 'phone' });
      const took = await registry.take(phone, memberId, { proved: true, via });
      if (!took.ok) throw new DomainError('member_exists', 'this phone number belongs to another member');
      if (member.phone !== phone) {
        await writePhone(() => Members.updateOne({ _id: member._id, phone: member.phone }, { $set: { phone, phoneReleasedAt: null, updatedAt: clock.now() } }), phone, memberId);
      }
      const settings = await deps.settings();
      const fresh = (await byId(memberId)) ?? member;
      const card = await ensureCard(fresh, settings);
      const granted = (await bonuses.grant(fresh, card, settings, byId)).filter((b) => !b.replayed);
      return { member: fresh, card: (await deps.cards.byNumber(card._id)) ?? card, bonuses: granted, displaced: took.displaced !== null };
    },

    /** The member holding a proved number (the till's look-up): a number nobody proved finds nobody. */
    async findByPhone(raw: string): Promise<MemberDoc | null> {
      const phone = normalizePhone(raw);
      if (!phone) throw new DomainError('phone_invalid', 'phone number is not valid');
      const h = await registry.holder(phone);
      return h?.reg.proved && h.member.status !== 'erased' ? h.member : null;
    },

    /** Who holds a number, proved or not (the chats' join decides with it). */
    async phoneHolder(e164: string): Promise<Holding | null> {
      return registry.holder(e164);
    },

    /**
     * An import of the shop's own base vouches for its numbers: `memberId` (written or about to
     * be) takes the number as proved, and a member who had only typed it is displaced (keeps
     * their card, told on their next visit), as a till enrolment does.
     */
    async claimImportedPhone(e164: string, memberId: string): Promise<{ displaced: boolean }> {
      const took = await registry.take(e164, memberId, { proved: true, via: 'import' });
      if (!took.ok) return { displaced: false };
      return { displaced: took.displaced !== null };
    },

    async findByIdentity(identity: string): Promise<MemberDoc | null> {
      const link = await Identities.findById(identity).lean();
      if (!link) return null;
      const m = await byId(link.memberId);
      return m && m.status !== 'erased' ? m : null;
    },

    /** The chat identities linked to a member (`telegram:…`, `vk:…`, `console:…`), sorted: where notices and codes go. */
    async chatIdentitiesOf(memberId: string): Promise<string[]> {
      return (await identitiesOf(memberId)).filter((id) => CHAT_CHANNELS.some((c) => id.startsWith(`${c}:`)));
    },

    identitiesOf,

    async findByReferralCode(code: string): Promise<MemberDoc | null> {
      return Members.findOne({ referralCode: code, status: 'active' }).lean<MemberDoc>();
    },

    async update(memberId: string, patch: Partial<Pick<MemberDoc, 'language' | 'notifications' | 'name' | 'optIn' | 'roles' | 'birthday'>>): Promise<MemberDoc> {
      const m = await Members.findOneAndUpdate({ _id: memberId }, { $set: { ...patch, updatedAt: clock.now() } }, { returnDocument: 'after' }).lean<MemberDoc>();
      if (!m) throw new DomainError('member_not_found', 'no such member');
      if (patch.name !== undefined) deps.listing?.renamed(String(m._id), m.name);
      return m;
    },

    /** The member agreed to a (new) consent text themself. */
    async recordConsent(memberId: string, consent: { version: string; channel: Channel }): Promise<MemberDoc> {
      const now = clock.now();
      const record: ConsentRecord = { at: now, version: consent.version, channel: consent.channel, by: 'member' };
      const m = await Members.findOneAndUpdate({ _id: memberId, status: 'active' }, { $set: { consent: record, updatedAt: now } }, { returnDocument: 'after' }).lean<MemberDoc>();
      if (!m) throw new DomainError('member_not_found', 'no such member');
      return m;
    },

    /** The member was told that their typed number went to its owner. */
    async ackPhoneReleased(memberId: string): Promise<void> {
      await Members.updateOne({ _id: memberId }, { $set: { phoneReleasedAt: null } });
    },

    /** Friends who joined by this member's link, and the referral points the member earned. */
    async referralStats(memberId: string): Promise<{ invited: number; points: number }> {
      const invited = await Members.countDocuments({ referrerId: memberId });
      // Only what this member earned as the one who invited (not their own bonus for joining by a link).
      const points = await deps.ledger.sumFor({ type: 'referral', role: 'referrer', memberId });
      return { invited, points };
    },

    /**
     * The member document's part of "delete my data" (core/privacy/erasure.service.ts does the
     * rest): the number leaves the registry, channel links go, the document keeps no phone,
     * name, consent or opt-ins; the card is blocked and stays, with its ledger, for accounting.
     */
    async anonymize(memberId: string): Promise<MemberDoc> {
      const m = await byId(memberId);
      if (!m) throw new DomainError('member_not_found', 'no such member');
      if (hasPhone(m)) await registry.forget(m.phone, memberId);
      await Identities.deleteMany({ memberId });
      const now = clock.now();
      await Members.updateOne(
        { _id: m._id },
        {
          $set: {
            phone: `erased:${memberId}`,
            name: '—',
            consent: null,
            status: 'erased',
            optIn: {},
            notifications: false,
            birthday: null,
            phoneReleasedAt: null,
            erasedAt: now,
            updatedAt: now,
          },
        },
      );
      await bonuses.forgetMember(memberId);
      if (m.cardNumber) await deps.cards.setStatus(m.cardNumber, 'blocked').catch(() => undefined);
      return m;
    },
  };
}
export type MemberService = ReturnType<typeof createMemberService>;
