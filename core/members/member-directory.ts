import type { CardService, CardView } from '../cards/card.service.js';
import type { HistoryPage } from '../history/history.repository.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { DomainError } from '../shared/errors.js';
import type { MemberDirectoryRepository, MemberRow } from './member-directory.repository.js';
import type { MemberDoc } from './member.model.js';
import type { MemberService } from './member.service.js';
import { maskPhone, normalizePhone } from './phone.js';
import { hasPhone } from './phone-registry.js';

export interface MemberCardPage {
  member: MemberDoc;
  /** The phone as the staff may see it: masked (the member's page is not a phone book). */
  maskedPhone: string | null;
  card: CardView | null;
  /** Linked chat channels (telegram, vk, twitch, console). */
  channels: string[];
  passDevices: number;
  history: HistoryPage;
}

export type SearchKind = 'phone' | 'card' | 'name' | 'list';

/**
 * What the staff look up: a member by phone (through the phone registry, so a typed number
 * another member proved leads to its owner), by card number, or by the start of the name.
 */
export function createMemberDirectory(deps: {
  repo: MemberDirectoryRepository;
  members: Pick<MemberService, 'findByPhone' | 'byId' | 'chatIdentitiesOf'>;
  cards: Pick<CardService, 'resolve' | 'byNumber' | 'view'>;
  history: { page(card: string, opts: { limit: number; cursor?: string | null | undefined }): Promise<HistoryPage> };
  settings: () => Promise<ProgrammeSettings>;
}) {
  async function byCard(q: string): Promise<MemberRow[]> {
    try {
      const card = await deps.cards.resolve(q, { allowInactive: true });
      const m = card.memberId ? await deps.members.byId(card.memberId) : null;
      return m && m.status !== 'erased' ? [deps.repo.rowOf(m)] : [];
    } catch (err) {
      if (err instanceof DomainError && (err.code === 'invalid_card_number' || err.code === 'card_not_found')) return [];
      throw err;
    }
  }

  return {
    /** Builds the name index of the embedded store in the background (the API role calls it at start). */
    warmUp: (): Promise<void> => deps.repo.warmUp(),

    /** Search by phone, card number or name; with no query, the newest members a page at a time. */
    async search(query: string, opts: { after?: string | undefined; limit?: number } = {}): Promise<{ kind: SearchKind; items: MemberRow[]; next: string | null }> {
      const q = query.trim().slice(0, 100);
      const limit = Math.min(opts.limit ?? 25, 100);
      if (!q) return { kind: 'list', ...(await deps.repo.page({ after: opts.after, limit })) };
      const digits = q.replace(/[\s()+-]/g, '');
      if (/^\d+$/.test(digits)) {
        const phone = normalizePhone(q);
        if (phone && (q.startsWith('+') || digits.length <= 11)) {
          const m = await deps.members.findByPhone(phone);
          if (m) return { kind: 'phone', items: [deps.repo.rowOf(m)], next: null };
        }
        return { kind: 'card', items: await byCard(q), next: null };
      }
      if (/^[A-Za-z]{0,4}[\d\s-]{6,}$/.test(q)) {
        const items = await byCard(q);
        if (items.length > 0) return { kind: 'card', items, next: null };
      }
      return { kind: 'name', items: await deps.repo.byNamePrefix(q, limit), next: null };
    },

    /** A member's page: card, level, balance, expiring points, channels, pass, one page of history. */
    async page(memberId: string, historyCursor?: string | null): Promise<MemberCardPage> {
      const member = await deps.members.byId(memberId);
      if (!member || member.status === 'erased') throw new DomainError('member_not_found', 'no such member');
      const settings = await deps.settings();
      const cardDoc = member.cardNumber ? await deps.cards.byNumber(member.cardNumber) : null;
      const [channels, passDevices, history] = await Promise.all([
        deps.members.chatIdentitiesOf(memberId),
        cardDoc ? deps.repo.passDevices(cardDoc._id) : Promise.resolve(0),
        cardDoc ? deps.history.page(cardDoc._id, { limit: 20, cursor: historyCursor ?? null }) : Promise.resolve({ items: [], nextCursor: null }),
      ]);
      return {
        member,
        maskedPhone: hasPhone(member) ? maskPhone(member.phone) : null,
        card: cardDoc ? deps.cards.view(cardDoc, settings) : null,
        channels: [...new Set(channels.map((c) => c.split(':')[0] ?? c))],
        passDevices,
        history,
      };
    },
  };
}
