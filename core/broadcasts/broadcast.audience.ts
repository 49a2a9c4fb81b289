import { chatOpen, choseMarketing } from '../members/marketing-choice.js';
import { normalizePhone } from '../members/phone.js';
import type { SegmentService } from '../segments/segment.service.js';
import type { Recipient } from './recipient.repository.js';
import type { RecipientRepository } from './recipient.repository.js';
import type { BroadcastChannel, EngineAudience } from './broadcast.types.js';

/** What one channel does for one member: send, skip (known but unreachable there), or nothing (not a recipient there). */
export type ChannelVerdict = { send: true } | { send: false; skip: string } | null;

/**
 * Rule: marketing goes only to members who chose it for that channel (core/members/marketing-choice.ts).
 * Telegram and VK need the linked chat; a chat where the bot was blocked or denied is
 * skipped until the member writes again. Wallet needs a pass for the member's card.
 * `test` sends (to the admins' own chats) ask nothing of consent.
 */
export function verdict(r: Recipient, channel: BroadcastChannel, opts: { test?: boolean } = {}): ChannelVerdict {
  const m = r.member;
  if (m.status !== 'active') return null;
  if (!opts.test && !choseMarketing(m, channel)) return null;
  if (channel === 'wallet') return r.hasPass ? { send: true } : null;
  if (!r.chats[channel]) return null;
  if (!opts.test && !chatOpen(m, channel)) return { send: false, skip: 'unreachable' };
  return { send: true };
}

/** The address of a member on a channel: the chat user id, or the card number for the pass. */
export function addressOf(r: Recipient, channel: BroadcastChannel): string {
  return channel === 'wallet' ? (r.member.cardNumber ?? '') : (r.chats[channel] ?? '');
}

/** A page of member ids from an audience and the cursor after it (null: the end). */
export interface AudiencePage {
  memberIds: string[];
  next: string | null;
}

/**
 * Pages of an audience's member ids, from a cursor, so planning resumes where a crash left
 * it: member ids (all, segments), card numbers (level), a list index (cards, phones).
 */
export function audiencePages(deps: { recipients: RecipientRepository; segments: Pick<SegmentService, 'resolveSegment'> }) {
  const { recipients } = deps;
  return async function page(audience: EngineAudience, cursor: string | null, size: number): Promise<AudiencePage> {
    switch (audience.kind) {
      case 'all': {
        const ids = await recipients.allPage(cursor, size);
        return { memberIds: ids, next: ids.length === size ? (ids[ids.length - 1] ?? null) : null };
      }
      case 'level': {
        return recipients.levelPage(audience.levelId, cursor, size);
      }
      case 'cards':
      case 'phones': {
        const start = cursor ? Number(cursor) : 0;
        const slice = (audience.kind === 'cards' ? audience.numbers : audience.phones).slice(start, start + size);
        const memberIds =
          audience.kind === 'cards'
            ? await recipients.byCardNumbers(slice)
            : await recipients.byPhones(slice.flatMap((p) => normalizePhone(p) ?? []));
        const end = start + slice.length;
        const total = audience.kind === 'cards' ? audience.numbers.length : audience.phones.length;
        return { memberIds, next: end < total ? String(end) : null };
      }
      case 'segment': {
        // The segment's ids come from one cursor in id order: skip those of pages already planned.
        const ids: string[] = [];
        for await (const chunk of deps.segments.resolveSegment(audience.segmentId, size)) {
          for (const id of chunk) if (!cursor || id > cursor) ids.push(id);
          if (ids.length >= size) break;
        }
        const pageIds = ids.slice(0, size);
        return { memberIds: pageIds, next: ids.length >= size ? (pageIds[pageIds.length - 1] ?? null) : null };
      }
      case 'members': {
        const start = cursor ? Number(cursor) : 0;
        const end = Math.min(audience.memberIds.length, start + size);
        return { memberIds: audience.memberIds.slice(start, end), next: end < audience.memberIds.length ? String(end) : null };
      }
      case 'admins':
        return cursor ? { memberIds: [], next: null } : { memberIds: await recipients.admins(), next: null };
    }
  };
}
export type AudiencePager = ReturnType<typeof audiencePages>;
