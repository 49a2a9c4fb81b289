import type { DomainEvent } from '../events/event.types.js';
import { chatAddressOf, isChatChannel, type ChatAddress } from '../members/identity.js';
import type { MemberDoc } from '../members/member.model.js';
import type { MemberService } from '../members/member.service.js';

type PointsChanged = Extract<DomainEvent, { type: 'points.changed' }>;

/** Who hears of an event: the member (for their language) and the chats to tell. */
export interface Audience {
  member: MemberDoc;
  to: ChatAddress[];
}

/** A referral credit for the friend who joined (the other one goes to the member who invited). */
export function isInviteeReferral(event: PointsChanged): boolean {
  return event.data.operation === 'referral' && event.data.role === 'invitee';
}

/**
 * Bonuses of a registration made in a chat were announced in the join answer itself; telling
 * them again a moment later would say the same thing twice. A member who joined at the till
 * hears of them in the chats linked since.
 */
function toldAtJoin(event: PointsChanged, member: MemberDoc): boolean {
  const fromJoin = event.data.operation === 'welcome' || isInviteeReferral(event);
  return fromJoin && isChatChannel(member.joinedVia);
}

/**
 * Who is told of a domain event in the chats. Transactional notices follow the member's
 * `notifications` switch; a linking code is not a points notice and goes out whatever it
 * says; an erased member has no chats and is told nothing. A contest winner is told in the
 * chat they entered from; everything else goes to every chat linked to the member.
 */
export function createNotificationAudience(deps: { members: Pick<MemberService, 'byId' | 'chatIdentitiesOf'> }) {
  return {
    async of(event: DomainEvent): Promise<Audience | null> {
      if (!event.memberId) return null;
      const member = await deps.members.byId(event.memberId);
      if (!member || member.status === 'erased') return null;
      if (!member.notifications && event.type !== 'phone.verification') return null;
      if (event.type === 'points.changed' && toldAtJoin(event, member)) return null;
      const identities = event.type === 'contest.won' ? [event.data.account] : await deps.members.chatIdentitiesOf(String(member._id));
      const to = identities.flatMap((identity) => chatAddressOf(identity) ?? []);
      return to.length > 0 ? { member, to } : null;
    },
  };
}
