import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A one-time code that links an account of a channel without chats (Twitch) to the member who
 * asked for it in their own chat: `_id` is a keyed hash of the code (the code itself is never
 * stored), so typing it back is one look-up by `_id`.
 */
export interface AccountLinkCodeDoc {
  _id: string;
  memberId: string;
  channel: string;
  expiresAt: Date;
  createdAt: Date;
}

const linkCodeSchema = new Schema<AccountLinkCodeDoc>(
  {
    _id: { type: String, required: true },
    memberId: { type: String, required: true },
    channel: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'account_link_codes', versionKey: false },
);
linkCodeSchema.index({ memberId: 1 });

export type AccountLinkCodeModel = Model<AccountLinkCodeDoc>;

export function accountLinkCodeModel(conn: Connection): AccountLinkCodeModel {
  return (conn.models.AccountLinkCode as AccountLinkCodeModel | undefined) ?? conn.model<AccountLinkCodeDoc>('AccountLinkCode', linkCodeSchema);
}
