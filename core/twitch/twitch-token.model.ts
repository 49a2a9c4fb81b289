import { Schema, type Connection, type Model } from 'mongoose';

/**
 * The OAuth token of a connected Twitch broadcaster (`npm run twitch:connect`), kept so the
 * bots role can manage channel-point rewards; refreshed tokens replace it (Twitch refresh
 * tokens are single-use, so the newest one must always be stored).
 */
export interface TwitchTokenDoc {
  /** The broadcaster's Twitch user id. */
  _id: string;
  login: string;
  accessToken: string;
  refreshToken: string;
  scope: string[];
  /** Seconds from obtainmentTimestamp; null: unknown (validated on use). */
  expiresIn: number | null;
  /** Epoch ms when the access token was obtained. */
  obtainmentTimestamp: number;
  createdAt: Date;
  updatedAt: Date;
}

const twitchTokenSchema = new Schema<TwitchTokenDoc>(
  {
    _id: { type: String, required: true },
    login: { type: String, required: true },
    accessToken: { type: String, required: true },
    refreshToken: { type: String, required: true },
    scope: { type: [String], required: true },
    expiresIn: { type: Number, default: null },
    obtainmentTimestamp: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'twitch_tokens', versionKey: false },
);
twitchTokenSchema.index({ login: 1 });

export type TwitchTokenModel = Model<TwitchTokenDoc>;

export function twitchTokenModel(conn: Connection): TwitchTokenModel {
  return (conn.models.TwitchToken as TwitchTokenModel | undefined) ?? conn.model<TwitchTokenDoc>('TwitchToken', twitchTokenSchema);
}
