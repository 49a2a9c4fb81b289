import { Schema, type Connection, type InferSchemaType, type Model, type Types } from 'mongoose';

/** One change made by staff or with the admin token: who, what, on what, before and after. */
const auditSchema = new Schema(
  {
    at: { type: Date, required: true },
    /** A user's e-mail, or `admin-token` for the bearer token. */
    actor: { type: String, required: true },
    actorId: { type: String, default: null },
    action: { type: String, required: true },
    target: { type: String, default: null },
    before: { type: Schema.Types.Mixed, default: null },
    after: { type: Schema.Types.Mixed, default: null },
    /** The client address of the request. */
    ip: { type: String, default: null },
  },
  { collection: 'audit_log', versionKey: false },
);
// Newest first, paged by _id (ObjectIds grow with time and are unique); filtered by action too.
auditSchema.index({ action: 1, _id: -1 });

type AuditFields = InferSchemaType<typeof auditSchema>;
export type AuditDoc = AuditFields & { _id: Types.ObjectId };
export type AuditModel = Model<AuditFields>;

export function auditModel(conn: Connection): AuditModel {
  return (conn.models.AuditEntry as AuditModel | undefined) ?? conn.model<AuditFields>('AuditEntry', auditSchema);
}
