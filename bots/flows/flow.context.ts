import type { CardDoc } from '../../core/cards/card.model.js';
import type { Core } from '../../core/core.js';
import type { ConversationRepository } from '../../core/conversations/conversation.repository.js';
import type { I18n, Language } from '../../core/i18n/i18n.js';
import type { MemberDoc } from '../../core/members/member.model.js';
import { DomainError } from '../../core/shared/errors.js';
import type { Sender } from './flow.types.js';

export interface FlowLinks {
  /** Bot username: invite links https://t.me/<bot>?start=ref_<code>. */
  telegramBot?: string | undefined;
  /** Community short name: invite links https://vk.me/<community>?ref=<code>. */
  vkCommunity?: string | undefined;
}

export interface FlowDeps {
  core: Core;
  i18n: I18n;
  conversations: ConversationRepository;
  links: FlowLinks;
  policyUrl?: string | undefined;
}

export type Step = 'join.phone' | 'join.name' | 'join.consent' | 'menu' | 'contest.number';
const STEPS: readonly string[] = ['join.phone', 'join.name', 'join.consent', 'menu', 'contest.number'] satisfies Step[];

/** What the flows keep between two messages. */
export interface FlowData {
  phone?: string;
  /** Whether `phone` was the person's own contact (true) or typed (false). */
  proved?: boolean;
  name?: string;
  referralCode?: string;
  /** The consent text version shown to the person, recorded when they agree. */
  consentVersion?: string;
  /** History page cursors, page index → cursor ('' for the first page). */
  history?: string[];
  /** The contest a card number is being typed for (step `contest.number`). */
  contestId?: string;
}

/** Everything a flow needs for one update: who, in which language, and where the dialogue stands. */
export interface FlowContext {
  deps: FlowDeps;
  sender: Sender;
  identity: string;
  lang: Language;
  member: MemberDoc | null;
  step: Step | null;
  data: FlowData;
  /** Translates in the context's language. */
  t(key: string, options?: Record<string, unknown>): string;
  /** Remembers the next step and its data (one upsert). */
  save(step: Step, data: FlowData): Promise<void>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** State comes from the database: keep only fields of the expected type. */
export function readData(raw: Record<string, unknown>): FlowData {
  const data: FlowData = {};
  const phone = str(raw.phone);
  const name = str(raw.name);
  const referralCode = str(raw.referralCode);
  const consentVersion = str(raw.consentVersion);
  if (phone) data.phone = phone;
  if (typeof raw.proved === 'boolean') data.proved = raw.proved;
  if (name) data.name = name;
  if (referralCode) data.referralCode = referralCode;
  if (consentVersion) data.consentVersion = consentVersion;
  const contestId = str(raw.contestId);
  if (contestId) data.contestId = contestId;
  const history = Array.isArray(raw.history) ? (raw.history as unknown[]) : null;
  if (history?.every((c): c is string => typeof c === 'string')) data.history = history;
  return data;
}

export function identityOf(sender: Sender): string {
  return `${sender.channel}:${sender.userId}`;
}

/** A context for `sender`: the member linked to this chat (if any) and the saved dialogue state. */
export async function loadContext(deps: FlowDeps, sender: Sender): Promise<FlowContext> {
  const identity = identityOf(sender);
  const [member, state] = await Promise.all([deps.core.members.findByIdentity(identity), deps.conversations.get(identity)]);
  // First contact: the platform's hint; then the language kept for this chat; a member's own choice wins.
  const lang = member?.language ?? state?.language ?? deps.i18n.pickLanguage(sender.languageCode);
  const step = state && STEPS.includes(state.step) ? (state.step as Step) : null;
  return makeContext(deps, sender, { member, lang, step, data: readData(state?.data ?? {}) });
}

/** The same update seen with another member or language (after joining, or a language switch). */
export function makeContext(
  deps: FlowDeps,
  sender: Sender,
  s: { member: MemberDoc | null; lang: Language; step: Step | null; data: FlowData },
): FlowContext {
  const identity = identityOf(sender);
  const ctx: FlowContext = {
    deps,
    sender,
    identity,
    lang: s.lang,
    member: s.member,
    step: s.step,
    data: s.data,
    t: (key, options) => deps.i18n.t(s.lang, key, options),
    async save(step, data) {
      await deps.conversations.save(identity, { step, data: { ...data }, language: ctx.lang });
      ctx.step = step;
      ctx.data = data;
    },
  };
  return ctx;
}

/** The member this chat belongs to; the menu flows run only for members. */
export function requireMember(ctx: FlowContext): MemberDoc {
  if (!ctx.member) throw new DomainError('member_not_found');
  return ctx.member;
}

/** The member's programme card. */
export async function memberCard(ctx: FlowContext): Promise<CardDoc> {
  const number = requireMember(ctx).cardNumber;
  const card = number ? await ctx.deps.core.cards.byNumber(number) : null;
  if (!card) throw new DomainError('card_not_found');
  return card;
}
