import { DomainError } from '../shared/errors.js';
import { chatAddressOf, type ChatChannel } from './identity.js';
import type { MemberDoc } from './member.model.js';
import type { EnrollInput, EnrollResult, MemberService } from './member.service.js';
import { normalizePhone } from './phone.js';
import { normalizeCode, type PhoneProofService } from './phone-proof.service.js';

/**
 * Linking a chat account to a member by phone, and the phone-ownership policy behind it.
 *
 * Where the chat proves the number (Telegram's own contact), a known number links the chat to
 * its member at once. Where the number is typed (VK), typing proves nothing: typed alone, a
 * stranger's number would open the stranger's card. There a number that is already a member's
 * links the account only after a one-time code, told in a chat the member already uses, is
 * typed back (phone-proof.service.ts). The terminal chat is the operator's own terminal and
 * links typed numbers as before.
 */
export const PHONE_PROOF_CHANNELS: readonly ChatChannel[] = ['vk'];

export interface ChatAccount {
  /** `vk:<id>`: the account to be linked. */
  identity: string;
  channel: ChatChannel;
  /** The user id on that channel, named in the code's notice so the member knows who asks. */
  account: string;
}

export type ProofStart =
  /** The member has no chat to send a code to: nothing can be linked here. */
  | { status: 'no_chat' }
  | { status: 'sent'; chats: ChatChannel[]; expiresAt: Date }
  | { status: 'cooldown'; chats: ChatChannel[]; retryInSeconds: number }
  | { status: 'too_many' };

export type PhoneClaim =
  /** No member has the number: the join goes on (name, consent). */
  | { status: 'new'; phone: string }
  | { status: 'linked'; member: MemberDoc; cardNumber: string }
  | { status: 'proof'; proof: ProofStart };

export type JoinOutcome =
  | { status: 'joined'; result: EnrollResult }
  /** The number joined elsewhere meanwhile and the chat proves it: linked to that member. */
  | { status: 'linked'; member: MemberDoc; cardNumber: string }
  | { status: 'proof'; proof: ProofStart };

export type CodeAnswer =
  | { status: 'ask_code'; chats: ChatChannel[] }
  | { status: 'wrong'; attemptsLeft: number }
  | { status: 'locked' }
  | { status: 'expired' }
  /** The number changed owner (or the member left) since the code went out: it proves nothing now. */
  | { status: 'gone' }
  | { status: 'linked'; member: MemberDoc };

/** The distinct channels of these identities, in their order: where a code is told. */
function channelsOf(identities: readonly string[]): ChatChannel[] {
  return [...new Set(identities.flatMap((i) => chatAddressOf(i)?.channel ?? []))];
}

export function createChatLinkService(deps: { members: MemberService; phoneProofs: PhoneProofService }) {
  const { members, phoneProofs } = deps;

  function proofRequired(channel: ChatChannel): boolean {
    return PHONE_PROOF_CHANNELS.includes(channel);
  }

  /** The member's other chats (never the asking one). */
  async function chatsOf(memberId: string, except: string): Promise<string[]> {
    return (await members.chatIdentitiesOf(memberId)).filter((i) => i !== except);
  }

  async function startProof(who: ChatAccount, member: MemberDoc): Promise<ProofStart> {
    const chats = await chatsOf(String(member._id), who.identity);
    if (chats.length === 0) return { status: 'no_chat' };
    const r = await phoneProofs.request({ identity: who.identity, channel: who.channel, account: who.account, member });
    if (r.status === 'too_many') return r;
    return r.status === 'sent' ? { status: 'sent', chats: channelsOf(chats), expiresAt: r.expiresAt } : { status: 'cooldown', chats: channelsOf(chats), retryInSeconds: r.retryInSeconds };
  }

  return {
    proofRequired,

    /** A phone given in a chat's join. */
    async claimPhone(who: ChatAccount, raw: string, language: 'ru' | 'en'): Promise<PhoneClaim> {
      const phone = normalizePhone(raw);
      if (!phone) throw new DomainError('phone_invalid');
      const known = await members.findByPhone(phone);
      if (!known) return { status: 'new', phone };
      if (proofRequired(who.channel)) return { status: 'proof', proof: await startProof(who, known) };
      // The chat proves the number: link it to the member; the core issues no second card.
      const { member, card } = await members.enroll({ channel: who.channel, identity: who.identity, phone, name: known.name, consent: true, language });
      return { status: 'linked', member, cardNumber: card._id };
    },

    /**
     * The end of a chat's join (consent given). Where a number needs proof, enrolling links
     * nothing by itself: a member who took this number meanwhile (at the till) is not handed
     * to this chat; only a member created here is.
     */
    async join(who: ChatAccount, input: Omit<EnrollInput, 'channel' | 'identity' | 'consent'>): Promise<JoinOutcome> {
      const proof = proofRequired(who.channel);
      const result = await members.enroll({ ...input, channel: who.channel, consent: true, ...(proof ? {} : { identity: who.identity }) });
      if (!result.created) {
        return proof ? { status: 'proof', proof: await startProof(who, result.member) } : { status: 'linked', member: result.member, cardNumber: result.card._id };
      }
      if (proof) await members.linkIdentity(String(result.member._id), who.identity);
      return { status: 'joined', result };
    },

    /**
     * A text typed at the phone step while a code may be awaited. Null: not an answer to a code
     * (no code waits, or the text is a phone number), for the phone step to read.
     */
    async answerCode(who: ChatAccount, text: string): Promise<CodeAnswer | null> {
      const code = normalizeCode(text);
      if (code === null) {
        const waiting = normalizePhone(text) ? null : await phoneProofs.pending(who.identity);
        return waiting ? { status: 'ask_code', chats: channelsOf(await chatsOf(waiting.memberId, who.identity)) } : null;
      }
      const r = await phoneProofs.verify(who.identity, code);
      switch (r.status) {
        case 'none':
          return null;
        case 'wrong':
        case 'locked':
        case 'expired':
          return r;
        case 'ok': {
          const member = await members.byId(r.memberId);
          if (member?.status !== 'active' || member.phone !== r.phone) return { status: 'gone' };
          await members.linkIdentity(r.memberId, who.identity);
          return { status: 'linked', member };
        }
      }
    },
  };
}
