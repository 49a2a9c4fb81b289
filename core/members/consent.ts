import type { MemberDoc } from './member.model.js';

/**
 * Rule: consent is given to one version of the consent text. A member whose recorded consent
 * is for another version (the programme published a new text) is asked again, on their next
 * visit to a chat, before anything else; until they agree nothing else is done for them.
 */
export function consentOutdated(member: Pick<MemberDoc, 'consent' | 'status'>, currentVersion: string): boolean {
  return member.status === 'active' && member.consent?.version !== currentVersion;
}
