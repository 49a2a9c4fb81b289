import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/** A signed-in panel session; `_id` is the SHA-256 of the cookie's token (the token itself is never stored). */
const sessionSchema = new Schema(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    /** The synchronizer token every form and htmx request of this session must echo. */
    csrf: { type: String, required: true },
    createdAt: { type: Date, required: true },
    lastSeenAt: { type: Date, required: true },
    /** The absolute end, whatever the activity. */
    expiresAt: { type: Date, required: true },
  },
  { collection: 'panel_sessions', versionKey: false },
);
sessionSchema.index({ userId: 1 });
sessionSchema.index({ expiresAt: 1 });

export type SessionDoc = InferSchemaType<typeof sessionSchema>;
export type SessionModel = Model<SessionDoc>;

export function sessionModel(conn: Connection): SessionModel {
  return (conn.models.PanelSession as SessionModel | undefined) ?? conn.model<SessionDoc>('PanelSession', sessionSchema);
}
