import { Schema, type Connection, type InferSchemaType, type Model, type Types } from 'mongoose';
import { STAFF_ROLES } from './user.roles.js';

/** A member of staff who signs in to the panel; the password is kept only as a scrypt hash. */
const userSchema = new Schema(
  {
    email: { type: String, required: true, lowercase: true, trim: true, maxlength: 254 },
    passwordHash: { type: String, required: true },
    role: { type: String, enum: STAFF_ROLES, required: true },
    /** The store a cashier works at; null for every other role. */
    storeId: { type: String, default: null },
    active: { type: Boolean, default: true },
  },
  { timestamps: true, collection: 'panel_users' },
);
userSchema.index({ email: 1 }, { unique: true });

type UserFields = InferSchemaType<typeof userSchema>;
export type UserDoc = UserFields & { _id: Types.ObjectId };
export type UserModel = Model<UserFields>;

export function userModel(conn: Connection): UserModel {
  return (conn.models.PanelUser as UserModel | undefined) ?? conn.model<UserFields>('PanelUser', userSchema);
}
