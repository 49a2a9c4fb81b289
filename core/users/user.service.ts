import { DomainError } from '../shared/errors.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from './password.js';
import type { StaffUser, UserRepository } from './user.repository.js';
import { isStaffRole, type StaffRole } from './user.roles.js';

export const MIN_PASSWORD_LENGTH = 10;
const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{2,}$/;

export interface NewUser {
  email: string;
  password: string;
  role: string;
  storeId?: string | null | undefined;
}

/** Staff accounts: who may sign in to the panel, with which role (and, for a cashier, which store). */
export function createUserService(deps: { repo: UserRepository; storeExists: (id: string) => Promise<boolean> }) {
  async function checkRoleAndStore(role: string, storeId: string | null | undefined): Promise<{ role: StaffRole; storeId: string | null }> {
    if (!isStaffRole(role)) throw new DomainError('validation_failed', 'role must be owner, marketer, support or cashier', { field: 'role' });
    // A cashier sees one store's till; the other roles see the whole programme.
    if (role === 'cashier') {
      if (!storeId) throw new DomainError('store_required', 'a cashier needs a store', { field: 'storeId' });
      if (!(await deps.storeExists(storeId))) throw new DomainError('store_not_found', 'no such store', { field: 'storeId' });
      return { role, storeId };
    }
    return { role, storeId: null };
  }

  function checkPassword(password: string): void {
    if (password.length < MIN_PASSWORD_LENGTH || password.length > 256) {
      throw new DomainError('weak_password', `the password needs ${MIN_PASSWORD_LENGTH} to 256 characters`, { field: 'password', min: MIN_PASSWORD_LENGTH });
    }
  }

  /** The last active owner cannot be demoted or disabled: nobody could manage users after that. */
  async function keepAnOwner(before: StaffUser, after: { role: StaffRole; active: boolean }): Promise<void> {
    const losesOwner = before.role === 'owner' && before.active && (after.role !== 'owner' || !after.active);
    if (losesOwner && (await deps.repo.countActiveOwners()) <= 1) {
      throw new DomainError('last_owner', 'the last active owner cannot be demoted or disabled', { field: 'role' });
    }
  }

  return {
    async create(input: NewUser): Promise<StaffUser> {
      const email = input.email.trim().toLowerCase();
      if (!EMAIL_RE.test(email) || email.length > 254) throw new DomainError('invalid_email', 'not an e-mail address', { field: 'email' });
      checkPassword(input.password);
      const rs = await checkRoleAndStore(input.role, input.storeId);
      return deps.repo.insert({ email, passwordHash: await hashPassword(input.password), ...rs });
    },

    /** The active user with this e-mail and password, or null (same cost whether the e-mail exists or not). */
    async authenticate(email: string, password: string): Promise<StaffUser | null> {
      const found = await deps.repo.credentials(email);
      const ok = await verifyPassword(password.slice(0, 256), found?.passwordHash ?? DUMMY_HASH);
      return ok && found?.user.active ? found.user : null;
    },

    byId: (id: string) => deps.repo.byId(id),
    list: () => deps.repo.list(),

    /** Changes role, store or active flag; returns before and after for the audit log. */
    async change(id: string, patch: { role?: string | undefined; storeId?: string | null | undefined; active?: boolean | undefined }): Promise<{ before: StaffUser; after: StaffUser }> {
      const before = await deps.repo.byId(id);
      if (!before) throw new DomainError('user_not_found', 'no such user');
      const rs = await checkRoleAndStore(patch.role ?? before.role, patch.storeId !== undefined ? patch.storeId : before.storeId);
      const active = patch.active ?? before.active;
      await keepAnOwner(before, { role: rs.role, active });
      const after = await deps.repo.update(id, { ...rs, active });
      if (!after) throw new DomainError('user_not_found', 'no such user');
      return { before, after };
    },

    async setPassword(id: string, password: string): Promise<StaffUser> {
      checkPassword(password);
      const after = await deps.repo.update(id, { passwordHash: await hashPassword(password) });
      if (!after) throw new DomainError('user_not_found', 'no such user');
      return after;
    },
  };
}
