import type { Language } from '../i18n/i18n.js';
import type { MemberService } from '../members/member.service.js';
import { MEMBER_NAME_MAX, memberName } from '../members/member-name.js';
import { normalizePhone } from '../members/phone.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import type { RateHit, RateLimit } from '../shared/rate-counter.repository.js';
import type { StoreRepository } from '../stores/store.repository.js';
import type { JoinFormTokens } from './join-form.token.js';

/** Where the join page counts attempts (Redis in the API, shared by its processes; MongoDB otherwise). Keys come hashed. */
export interface JoinLimiter {
  hit(scope: string, key: string, limit: RateLimit): Promise<RateHit>;
}

export interface JoinLimits {
  /** Join attempts per client address. */
  perAddress: RateLimit;
  /** Join attempts naming one phone number, from anywhere. */
  perPhone: RateLimit;
}

export const DEFAULT_JOIN_LIMITS: JoinLimits = {
  perAddress: { max: 10, windowMs: 60 * 60 * 1000 },
  perPhone: { max: 3, windowMs: 60 * 60 * 1000 },
};

export interface JoinForm {
  consentVersion: string;
  welcomeBonus: number;
  /** The referral bonus when the link's code names an active member; null otherwise. */
  referralBonus: number | null;
  store: { id: string; name: string } | null;
  ref: string | null;
  token: string;
  nonce: string;
}

export interface WebJoinInput {
  phone: string;
  name: string;
  consent: boolean;
  consentVersion: string;
  marketing: boolean;
  language: Language;
  ref?: string | undefined;
  storeId?: string | undefined;
  /** The client's address (rate limit). */
  address: string;
  /** The form's token and the cookie's nonce (anti-forgery). */
  token: string | undefined;
  nonce: string | undefined;
}

export type WebJoinResult =
  /** A new card for a new number: the number is held unproved, its bonuses wait for a proof. */
  | { kind: 'joined'; cardNumber: string; memberId: string; bonusesPending: number }
  /** The number is already in the programme (proved or typed by someone): no card is shown. */
  | { kind: 'held' };

const REF_RE = /^[a-z0-9]{4,32}$/;
const STORE_RE = /^[0-9a-f]{24}$/;

/**
 * Joining on the public web page. The phone is typed, never proved here (no SMS), so the
 * policy of unproved numbers applies (core/members): a free number is held unproved and its
 * welcome and referral bonuses wait until the number is proved (at the till, or by the
 * member's own contact in Telegram), once per phone (bonus_claims). A number already in the
 * programme — proved or only typed — gets no new card here and reveals nothing of its holder:
 * the visitor is told to find their card where they joined. Attempts are limited per address
 * and per number, and the form carries a signed token.
 */
export function createWebJoin(deps: {
  members: Pick<MemberService, 'enroll' | 'phoneHolder' | 'update' | 'findByReferralCode'>;
  stores: Pick<StoreRepository, 'findById'>;
  settings: () => Promise<ProgrammeSettings>;
  limiter: JoinLimiter;
  /** The programme's keyed hash: counters never hold a phone or an address in clear. */
  hash: (scope: string, key: string) => string;
  tokens: JoinFormTokens;
  clock: Clock;
  limits?: JoinLimits;
}) {
  const limits = deps.limits ?? DEFAULT_JOIN_LIMITS;

  async function storeOf(id: string | undefined): Promise<{ id: string; name: string } | null> {
    if (!id || !STORE_RE.test(id)) return null;
    const s = await deps.stores.findById(id);
    return s?.active ? { id: s.id, name: s.name } : null;
  }

  async function limit(scope: string, key: string, l: RateLimit): Promise<void> {
    const hit = await deps.limiter.hit(`join-${scope}`, deps.hash(`join-${scope}`, key), l);
    if (!hit.allowed) throw new DomainError('rate_limited', 'too many join attempts', { scope, retryAt: hit.resetAt.toISOString() });
  }

  return {
    /** What the form shows: the consent version, the bonuses on offer, the store; with a fresh token. */
    async form(input: { ref?: string | undefined; store?: string | undefined }): Promise<JoinForm> {
      const settings = await deps.settings();
      const ref = input.ref && REF_RE.test(input.ref) ? input.ref : null;
      const referrer = ref ? await deps.members.findByReferralCode(ref) : null;
      return {
        consentVersion: settings.consentTextVersion,
        welcomeBonus: settings.welcomeBonus,
        referralBonus: referrer && referrer.status === 'active' ? settings.referral.bonus : null,
        store: await storeOf(input.store),
        ref,
        ...deps.tokens.issue(),
      };
    },

    async join(input: WebJoinInput): Promise<WebJoinResult> {
      if (!deps.tokens.valid(input.token, input.nonce)) throw new DomainError('forbidden', 'the form has expired or was not sent from this page', { field: 'form' });
      await limit('address', input.address, limits.perAddress);
      const phone = normalizePhone(input.phone);
      if (!phone) throw new DomainError('phone_invalid', 'phone number is not valid', { field: 'phone' });
      await limit('phone', phone, limits.perPhone);
      if (memberName(input.name) === null) throw new DomainError('validation_failed', `name must be 1–${MEMBER_NAME_MAX} characters`, { field: 'name' });
      if (!input.consent) throw new DomainError('consent_required', 'consent to personal data processing is required', { field: 'consent' });
      const settings = await deps.settings();
      // Consent counts for the text the visitor saw: a version changed meanwhile asks again.
      if (input.consentVersion !== settings.consentTextVersion) throw new DomainError('validation_failed', 'the consent text has changed', { field: 'consentVersion' });
      if (await deps.members.phoneHolder(phone)) return { kind: 'held' };
      const store = await storeOf(input.storeId);
      const r = await deps.members.enroll({
        phone,
        name: input.name,
        consent: true,
        consentVersion: input.consentVersion,
        language: input.language,
        channel: 'web',
        proved: false,
        ...(input.ref && REF_RE.test(input.ref) ? { referralCode: input.ref } : {}),
        ...(store ? { storeId: store.id } : {}),
      });
      // Typed by someone else a moment ago: this visitor's number is not theirs to show a card for.
      if (r.phone !== 'unproved' || !r.created) return { kind: 'held' };
      // Marketing reaches a web member through pass pushes only, and only with the box ticked.
      await deps.members.update(String(r.member._id), { optIn: { wallet: input.marketing } });
      const pending = settings.welcomeBonus + (r.member.referrerId ? settings.referral.bonus : 0);
      return { kind: 'joined', cardNumber: r.card._id, memberId: String(r.member._id), bonusesPending: pending };
    },
  };
}
export type WebJoin = ReturnType<typeof createWebJoin>;
