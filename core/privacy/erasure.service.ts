import type { ConversationRepository } from '../conversations/conversation.repository.js';
import type { MemberService } from '../members/member.service.js';

/**
 * "Delete my data": everything the programme holds about a member is deleted or anonymized;
 * what accounting needs stays on an anonymous card (its ledger amounts). The member's every
 * chat loses its dialogue state too, not only the chat that asked.
 */
export function createErasure(deps: { members: MemberService; conversations: ConversationRepository }) {
  return {
    async erase(memberId: string): Promise<void> {
      const identities = await deps.members.identitiesOf(memberId);
      await deps.members.anonymize(memberId);
      for (const identity of identities) await deps.conversations.remove(identity);
    },
  };
}
export type Erasure = ReturnType<typeof createErasure>;
