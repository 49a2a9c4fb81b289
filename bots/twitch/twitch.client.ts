import { ApiClient } from '@twurple/api';
import { RefreshingAuthProvider, type AccessToken } from '@twurple/auth';
import type { TwitchAccount, TwitchTokenRepository } from '../../core/twitch/twitch-token.repository.js';

/** The scopes twitch:connect asks for: read and manage channel-point redemptions. */
export const TWITCH_SCOPES = ['channel:read:redemptions', 'channel:manage:redemptions'] as const;

export interface TwitchLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface TwitchClient {
  api: ApiClient;
  /** The connected broadcaster: the channel whose rewards and redemptions we manage. */
  broadcaster: { id: string; login: string };
  auth: RefreshingAuthProvider;
}

/**
 * twurple's ApiClient for the broadcaster whose token twitch:connect stored. The
 * RefreshingAuthProvider refreshes an expired (or rejected) access token itself; every new
 * token is written back to MongoDB at once (Twitch refresh tokens are single-use: a restart
 * with the old one would lose the connection). null when no account is connected.
 *
 * Tests point twurple at a fake with TWURPLE_MOCK_API_PORT (Helix → http://localhost:<port>/mock/…,
 * OAuth → http://localhost:<port>/auth/…).
 */
export async function createTwitchClient(deps: {
  clientId: string;
  clientSecret: string | undefined;
  channel: string | undefined;
  tokens: TwitchTokenRepository;
  log: TwitchLog;
}): Promise<TwitchClient | null> {
  const account: TwitchAccount | null = await deps.tokens.find(deps.channel);
  if (!account) return null;
  const auth = new RefreshingAuthProvider({ clientId: deps.clientId, ...(deps.clientSecret ? { clientSecret: deps.clientSecret } : {}) });
  auth.onRefresh((userId: string, token: AccessToken) => {
    if (!token.refreshToken) return;
    const refreshToken = token.refreshToken;
    deps.tokens
      .save(userId, { accessToken: token.accessToken, refreshToken, scope: token.scope, expiresIn: token.expiresIn, obtainmentTimestamp: token.obtainmentTimestamp })
      .then(() => deps.log.info({ twitchUserId: userId }, 'twitch token refreshed and stored'))
      .catch((err: unknown) => deps.log.error({ twitchUserId: userId, err }, 'twitch token refreshed but NOT stored: run npm run twitch:connect if the next start fails'));
  });
  auth.onRefreshFailure((userId: string, err: Error) => {
    deps.log.error({ twitchUserId: userId, err: err.message }, 'twitch token refresh failed: run npm run twitch:connect');
  });
  auth.addUser(account.userId, {
    accessToken: account.accessToken,
    refreshToken: account.refreshToken,
    scope: account.scope,
    expiresIn: account.expiresIn,
    obtainmentTimestamp: account.obtainmentTimestamp,
  });
  const api = new ApiClient({ authProvider: auth, logger: { minLevel: 'critical' } });
  return { api, auth, broadcaster: { id: account.userId, login: account.login } };
}
