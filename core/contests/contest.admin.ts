import type { MemberDoc } from '../members/member.model.js';

/** The member role that may create, close and draw contests from a chat. */
export const CONTEST_ADMIN_ROLE = 'admin';

/**
 * Who runs contests from a chat: an active member with the role 'admin' (set by the programme
 * owner). Everyone else does not see the admin commands at all. The admin API has its own token.
 */
export function mayRunContests(member: Pick<MemberDoc, 'status' | 'roles'> | null): boolean {
  return member?.status === 'active' && member.roles.includes(CONTEST_ADMIN_ROLE);
}
