import type { AuditInput } from '../audit/audit.repository.js';
import type { StaffUser } from './user.repository.js';
import type { NewUser } from './user.service.js';

/** Who does an admin change: a user's e-mail and id, or `admin-token` / `admin-cli`. */
export interface Actor {
  actor: string;
  actorId?: string | null;
  ip?: string | null;
}

/**
 * Managing staff accounts, as the admin API, the panel and the CLI all do it: every change is
 * audited, and a user whose role, store, password or access changed is signed out everywhere
 * (their open sessions carried what they were allowed before).
 */
export function createStaffAdmin(deps: {
  users: {
    create(input: NewUser): Promise<StaffUser>;
    change(id: string, patch: { role?: string | undefined; storeId?: string | null | undefined; active?: boolean | undefined }): Promise<{ before: StaffUser; after: StaffUser }>;
    setPassword(id: string, password: string): Promise<StaffUser>;
  };
  sessions: { endAllFor(userId: string): Promise<number> };
  audit: { record(e: AuditInput): Promise<void> };
}) {
  return {
    async create(by: Actor, input: NewUser): Promise<StaffUser> {
      const user = await deps.users.create(input);
      await deps.audit.record({ ...by, action: 'user.create', target: user.email, after: { role: user.role, storeId: user.storeId } });
      return user;
    },

    async change(by: Actor, id: string, patch: { role?: string | undefined; storeId?: string | null | undefined; active?: boolean | undefined; password?: string | undefined }): Promise<StaffUser> {
      const { password, ...rest } = patch;
      const { before, after } = await deps.users.change(id, rest);
      if (password !== undefined) await deps.users.setPassword(id, password);
      if (password !== undefined || before.role !== after.role || !after.active || before.storeId !== after.storeId) await deps.sessions.endAllFor(after.id);
      await deps.audit.record({
        ...by,
        action: 'user.change',
        target: after.email,
        before: { role: before.role, storeId: before.storeId, active: before.active },
        after: { role: after.role, storeId: after.storeId, active: after.active, ...(password !== undefined ? { password: 'changed' } : {}) },
      });
      return after;
    },
  };
}
