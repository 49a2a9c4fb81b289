import { randomInt } from 'node:crypto';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import type { RateCounters, RateLimit } from '../shared/rate-counter.repository.js';
import type { AccountLinkCodeModel } from './account-link.model.js';
import type { MemberService } from './member.service.js';
import type { KeyedHasher } from './phone-hash.js';

/** Channels whose accounts are linked by a code from the member's chat (no chat of their own to prove anything in). */
export const CODE_LINKED_CHANNELS = ['twitch'] as const;
export type CodeLinkedChannel = (typeof CODE_LINKED_CHANNELS)[number];

export const LINK_CODE_LIMITS = {
  /** A code lives 30 minutes (long enough to open the stream and redeem). */
  ttlMs: 30 * 60_000,
  /** Codes one member may ask for per hour. */
  perMember: { max: 5, windowMs: 3600_000 } satisfies RateLimit,
};

/** No 0/O, 1/I/L: a code read off a phone and typed on another device. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_RE = /^TW[\s-]?([A-Z2-9]{4})[\s-]?([A-Z2-9]{4})$/i;

/** `TW-AB3D-7KQ2` as typed (any case, spaces or dashes): the canonical code, or null when it is not one. */
export function parseLinkCode(typed: string): string | null {
  const m = CODE_RE.exec(typed.trim());
  return m ? `TW${(m[1] ?? '').toUpperCase()}${(m[2] ?? '').toUpperCase()}` : null;
}

/**
 * Linking a Twitch account to a member: the member asks for a code in a chat that is theirs
 * (`/twitch`), and types it in a stream giveaway instead of the card number. Whoever types it
 * read the member's chat, so the account becomes the member's (a card number proves nothing:
 * anyone can read one off a receipt). One use, 30 minutes, a keyed hash stored.
 */
export function createAccountLinks(deps: { Codes: AccountLinkCodeModel; members: Pick<MemberService, 'linkIdentity' | 'byId'>; hasher: KeyedHasher; rates: RateCounters; clock: Clock }) {
  const { Codes, hasher, clock } = deps;
  const idOf = (canonical: string): string => hasher.of('link-code', canonical);

  return {
    async init(): Promise<void> {
      await Codes.createIndexes();
    },

    /** A new code for the member to type on `channel`; an earlier one of theirs stops counting. */
    async issue(memberId: string, channel: CodeLinkedChannel): Promise<{ code: string; expiresAt: Date }> {
      const hit = await deps.rates.hit('link-code', memberId, LINK_CODE_LIMITS.perMember);
      if (!hit.allowed) throw new DomainError('rate_limited', 'too many codes asked for this hour', { retryAfterSeconds: Math.ceil((hit.resetAt.getTime() - clock.now().getTime()) / 1000) });
      await Codes.deleteMany({ memberId, channel });
      const raw = Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)] ?? 'A').join('');
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + LINK_CODE_LIMITS.ttlMs);
      await insertRaw(Codes, { _id: idOf(`TW${raw}`), memberId, channel, expiresAt, createdAt: now });
      return { code: `TW-${raw.slice(0, 4)}-${raw.slice(4)}`, expiresAt };
    },

    /** Links `identity` (e.g. `twitch:123`) to the code's member and spends the code; null when it is no live code. */
    async redeem(typed: string, identity: string): Promise<string | null> {
      const canonical = parseLinkCode(typed);
      if (!canonical) return null;
      const doc = await Codes.findOneAndDelete({ _id: idOf(canonical) }).lean();
      if (!doc || doc.expiresAt <= clock.now()) return null;
      const member = await deps.members.byId(doc.memberId);
      if (member?.status !== 'active') return null;
      await deps.members.linkIdentity(doc.memberId, identity);
      return doc.memberId;
    },

    /** Erasure and maintenance: a member's codes, or the expired ones. */
    async forget(memberId: string): Promise<void> {
      await Codes.deleteMany({ memberId });
    },
    async prune(): Promise<number> {
      return (await Codes.deleteMany({ expiresAt: { $lt: clock.now() } })).deletedCount;
    },
  };
}
export type AccountLinks = ReturnType<typeof createAccountLinks>;
