import { createNameIndex } from './member-names.index.js';
import type { MemberRecentRepository } from './member-recent.repository.js';

/**
 * What the staff's member list and name search need on the embedded store, where FerretDB v1
 * cannot sort or filter by index: the list in joining order (member-recent.repository.ts) and the
 * name index (member-names.index.ts), told as members join or are renamed. On MongoDB
 * (the repository's `enabled: false`) both are off and the directory reads members by their indexes.
 */
export function createMemberListing(recent: MemberRecentRepository) {
  const names = recent.enabled ? createNameIndex({ scan: () => recent.names(), now: () => Date.now() }) : null;
  return {
    recent,
    names,
    /** Members just created, in the order they joined. */
    async joined(members: { id: string; name: string }[]): Promise<void> {
      await recent.add(members.map((m) => m.id));
      for (const m of members) names?.add(m.id, m.name);
    },
    renamed(id: string, name: string): void {
      names?.add(id, name);
    },
  };
}
export type MemberListing = ReturnType<typeof createMemberListing>;
