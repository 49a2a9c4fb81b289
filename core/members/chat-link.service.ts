import { DomainError } from '../shared/errors.js';
import type { ChatChannel } from './identity.js';
import type { MemberDoc } from './member.model.js';
import type { EnrollInput, EnrollResult, MemberService } from './member.service.js';
import type { KeyedHasher } from './phone-hash.js';
import { normalizePhone } from './phone.js';
import { normalizeCode, type PhoneProofService } from './phone-proof.service.js';

/**
 * Linking a chat account to a member by phone, and the phone-ownership policy behind it.
 *
 * A number is PROVED by the person's own contact (Telegram's share-contact button, the
 * terminal chat's `/contact`, which is the operator's own terminal), by a code told in a chat
 * of the member who holds it, or by the shop (till, admin). A TYPED number (VK, the terminal
 * chat) proves nothing:
 *  - a proved contact of a number held by a member who proved it links the chat to that member;
 *    of a free number, or one somebody only typed, it makes a new member (displacing the typist,
 *    who keeps their card and is told on their next visit);
 *  - a typed number is answered the same whoever holds it: a code goes to the chats of its
 *    holder when there is one (typing it back links this chat to that member), and a typist
 *    who goes on to join gets a member of their own: holding the number (unproved, bonuses
 *    waiting) when it was free, without a number when it was someone's.
 */
export const PHONE_PROOF_CHANNELS: readonly ChatChannel[] = ['vk', 'console'];

export interface ChatAccount {
  /** `vk:<id>`: the account to be linked. */
  identity: string;
  channel: ChatChannel;
  /** The user id on that channel, named in the code's notice so the member knows who asks. */
  account: string;
}

export type PhoneClaim =
  /** A proved number that is free or only typed by someone: the join goes on (name, consent). */
  | { status: 'new'; phone: string }
  | { status: 'linked'; member: MemberDoc; cardNumber: string }
  /** A typed number: the same answer whoever holds it; the join goes on, or a code is typed back. */
  | { status: 'typed'; phone: string; expiresAt: Date }
  /** This account (or everyone together) typed too many numbers this hour: nothing was looked at. */
  | { status: 'too_many'; retryAt: Date };

export type JoinOutcome =
  | { status: 'joined'; result: EnrollResult }
  /** The number was proved by its holder meanwhile and this chat proves it too: linked to that member. */
  | { status: 'linked'; member: MemberDoc; cardNumber: string };

export type CodeAnswer =
  | { status: 'wrong'; attemptsLeft: number }
  | { status: 'locked' }
  | { status: 'expired' }
  /** No code waits for this account (none was asked for, or it was used). */
  | { status: 'none' }
  /** The number changed holder (or the member left) since the code went out: it proves nothing now. */
  | { status: 'gone' }
  | { status: 'linked'; member: MemberDoc };

export function createChatLinkService(deps: { members: MemberService; phoneProofs: PhoneProofService; hasher: KeyedHasher }) {
  const { members, phoneProofs, hasher } = deps;

  function typesPhone(channel: ChatChannel): boolean {
    return PHONE_PROOF_CHANNELS.includes(channel);
  }

  return {
    /** Whether a number given on this channel is typed (so proves nothing) rather than shared as the person's own contact. */
    typesPhone,

    /**
     * A phone given in a chat's join: `contact` when the chat proves it is the person's own
     * (Telegram's button, the terminal's /contact), `typed` otherwise.
     */
    async claimPhone(who: ChatAccount, raw: string, language: 'ru' | 'en', how: 'contact' | 'typed'): Promise<PhoneClaim> {
      const phone = normalizePhone(raw);
      if (!phone) throw new DomainError('phone_invalid');
      if (how === 'typed') {
        const holder = await members.phoneHolder(phone);
        const chats = holder ? (await members.chatIdentitiesOf(String(holder.member._id))).filter((i) => i !== who.identity) : [];
        const target = holder && chats.length > 0 ? { memberId: String(holder.member._id), phoneHash: hasher.phone(phone), cardNumber: holder.member.cardNumber } : null;
        const r = await phoneProofs.request({ identity: who.identity, channel: who.channel, account: who.account, target });
        return r.status === 'sent' ? { status: 'typed', phone, expiresAt: r.expiresAt } : r;
      }
      const holder = await members.phoneHolder(phone);
      if (!holder?.reg.proved) return { status: 'new', phone };
      // Both proved the number: the same person, so the same member; the core issues no second card.
      const { member, card } = await members.enroll({ channel: who.channel, identity: who.identity, phone, name: holder.member.name, consent: true, language, proved: true });
      return { status: 'linked', member, cardNumber: card._id };
    },

    /** The end of a chat's join (consent given): `proved` as the number was given (contact or typed). */
    async join(who: ChatAccount, input: Omit<EnrollInput, 'channel' | 'identity' | 'consent' | 'proved' | 'consentBy'>, proved: boolean): Promise<JoinOutcome> {
      const result = await members.enroll({ ...input, channel: who.channel, identity: who.identity, consent: true, proved, consentBy: 'member' });
      return result.created ? { status: 'joined', result } : { status: 'linked', member: result.member, cardNumber: result.card._id };
    },

    /** A 6-digit text typed after a number: the code that number's holder was told, or a guess. Null: not a code. */
    async answerCode(who: ChatAccount, text: string): Promise<CodeAnswer | null> {
      if (normalizeCode(text) === null) return null;
      const r = await phoneProofs.verify(who.identity, text);
      switch (r.status) {
        case 'none':
        case 'wrong':
        case 'locked':
        case 'expired':
          return r;
        case 'ok': {
          const member = r.memberId ? await members.byId(r.memberId) : null;
          if (member?.status !== 'active' || !r.phoneHash || hasher.phone(member.phone) !== r.phoneHash) return { status: 'gone' };
          await members.linkIdentity(r.memberId ?? '', who.identity);
          return { status: 'linked', member };
        }
      }
    },
  };
}
