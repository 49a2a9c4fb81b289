import { Types, type Connection } from 'mongoose';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { userModel, type UserDoc } from './user.model.js';
import type { StaffRole } from './user.roles.js';

/** A user as the rest of the code sees it: never the password hash. */
export interface StaffUser {
  id: string;
  email: string;
  role: StaffRole;
  storeId: string | null;
  active: boolean;
  createdAt: Date;
}

function view(d: UserDoc): StaffUser {
  return { id: String(d._id), email: d.email, role: d.role, storeId: d.storeId ?? null, active: d.active, createdAt: d.createdAt };
}

export function createUserRepository(conn: Connection) {
  const Users = userModel(conn);
  return {
    async init(): Promise<void> {
      await Users.createIndexes();
    },
    async insert(input: { email: string; passwordHash: string; role: StaffRole; storeId: string | null }): Promise<StaffUser> {
      try {
        const doc = await Users.create(input);
        return view(doc.toObject());
      } catch (err) {
        // The e-mail is the collection's only unique index.
        if (isDuplicateKey(err)) throw new DomainError('user_exists', 'a user with this e-mail exists', { field: 'email' });
        throw err;
      }
    },
    /** The user and their password hash, for signing in only. */
    async credentials(email: string): Promise<{ user: StaffUser; passwordHash: string } | null> {
      const d = await Users.findOne({ email: email.trim().toLowerCase() }).lean<UserDoc>();
      return d ? { user: view(d), passwordHash: d.passwordHash } : null;
    },
    async byId(id: string): Promise<StaffUser | null> {
      if (!Types.ObjectId.isValid(id)) return null;
      const d = await Users.findById(id).lean<UserDoc>();
      return d ? view(d) : null;
    },
    async list(): Promise<StaffUser[]> {
      return (await Users.find().sort({ email: 1 }).limit(1000).lean<UserDoc[]>()).map(view);
    },
    async countActiveOwners(): Promise<number> {
      return Users.countDocuments({ role: 'owner', active: true });
    },
    async update(id: string, patch: Partial<{ role: StaffRole; storeId: string | null; active: boolean; passwordHash: string }>): Promise<StaffUser | null> {
      if (!Types.ObjectId.isValid(id)) return null;
      const d = await Users.findByIdAndUpdate(id, { $set: patch }, { returnDocument: 'after' }).lean<UserDoc>();
      return d ? view(d) : null;
    },
  };
}
export type UserRepository = ReturnType<typeof createUserRepository>;
