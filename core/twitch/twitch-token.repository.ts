import type { Connection } from 'mongoose';
import { systemClock, type Clock } from '../shared/clock.js';
import { twitchTokenModel, type TwitchTokenDoc } from './twitch-token.model.js';

/** A token as twurple's AccessToken carries it (no dependency on twurple here). */
export interface StoredTwitchToken {
  accessToken: string;
  refreshToken: string;
  scope: string[];
  expiresIn: number | null;
  obtainmentTimestamp: number;
}

export interface TwitchAccount extends StoredTwitchToken {
  userId: string;
  login: string;
}

function toAccount(d: TwitchTokenDoc): TwitchAccount {
  return {
    userId: d._id,
    login: d.login,
    accessToken: d.accessToken,
    refreshToken: d.refreshToken,
    scope: d.scope,
    expiresIn: d.expiresIn,
    obtainmentTimestamp: d.obtainmentTimestamp,
  };
}

/** Tokens of connected Twitch broadcasters, one per user id. */
export function createTwitchTokenRepository(conn: Connection, opts: { clock?: Clock } = {}) {
  const Tokens = twitchTokenModel(conn);
  const clock = opts.clock ?? systemClock;
  return {
    async init(): Promise<void> {
      await Tokens.createIndexes();
    },

    /** Stores (or replaces) the broadcaster's token; `login` kept when omitted (a refresh does not tell it). */
    async save(userId: string, token: StoredTwitchToken, login?: string): Promise<void> {
      const now = clock.now();
      await Tokens.collection.updateOne(
        { _id: userId } as unknown as Parameters<typeof Tokens.collection.updateOne>[0],
        {
          $set: {
            accessToken: token.accessToken,
            refreshToken: token.refreshToken,
            scope: token.scope,
            expiresIn: token.expiresIn,
            obtainmentTimestamp: token.obtainmentTimestamp,
            updatedAt: now,
            ...(login !== undefined ? { login: login.toLowerCase() } : {}),
          },
          $setOnInsert: { createdAt: now, ...(login === undefined ? { login: userId } : {}) },
        },
        { upsert: true },
      );
    },

    /**
     * The account to use: by user id or login when `channel` is given, else the one connected
     * account (null when none, or several and no channel said which).
     */
    async find(channel?: string): Promise<TwitchAccount | null> {
      if (channel) {
        const d = await Tokens.findOne({ $or: [{ _id: channel }, { login: channel.toLowerCase() }] }).lean<TwitchTokenDoc>();
        return d ? toAccount(d) : null;
      }
      const docs = await Tokens.find({}).sort({ updatedAt: -1 }).limit(2).lean<TwitchTokenDoc[]>();
      return docs.length === 1 && docs[0] ? toAccount(docs[0]) : null;
    },

    async remove(userId: string): Promise<void> {
      await Tokens.deleteOne({ _id: userId });
    },
  };
}
export type TwitchTokenRepository = ReturnType<typeof createTwitchTokenRepository>;
