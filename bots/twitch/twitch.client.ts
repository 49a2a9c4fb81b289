import { ApiClient } from '@twurple/api';
import { RefreshingAuthProvider, type AccessToken } from '@twurple/auth';
import { HelixError, type HelixPort, type TwitchLog } from '../../core/twitch/helix.port.js';
import type { TwitchAccount, TwitchTokenRepository } from '../../core/twitch/twitch-token.repository.js';

/** The scopes twitch:connect asks for: read and manage channel-point redemptions. */
export const TWITCH_SCOPES = ['channel:read:redemptions', 'channel:manage:redemptions'] as const;

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

/** twurple's HttpStatusCodeError (of @twurple/api-call) as the port's HelixError; anything else as is. */
async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const e = err as { statusCode?: unknown; body?: unknown } | null;
    if (typeof e?.statusCode === 'number') throw new HelixError(e.statusCode, typeof e.body === 'string' ? e.body : '', `${what}: Helix answered ${e.statusCode}`);
    throw err;
  }
}

/** The giveaway's Helix port over twurple (core/twitch/helix.port.ts). */
export function helixPort(client: TwitchClient): HelixPort {
  const { api, broadcaster } = client;
  const channelPoints = api.channelPoints;
  return {
    broadcaster,
    myRewards: () => call('getCustomRewards', async () => (await channelPoints.getCustomRewards(broadcaster.id, true)).map((r) => ({ id: r.id, title: r.title }))),
    createReward: ({ title, prompt, cost }) =>
      call('createCustomReward', async () => {
        const r = await channelPoints.createCustomReward(broadcaster.id, { title, cost, prompt, userInputRequired: true, isEnabled: true, autoFulfill: false });
        return { id: r.id, title: r.title };
      }),
    disableReward: (rewardId) =>
      call('updateCustomReward', async () => {
        await channelPoints.updateCustomReward(broadcaster.id, rewardId, { isEnabled: false });
      }),
    unfulfilledRedemptions: (rewardId) =>
      call('getRedemptions', async () =>
        (await channelPoints.getRedemptionsForBroadcasterPaginated(broadcaster.id, rewardId, 'UNFULFILLED', { newestFirst: false }).getAll()).map((r) => ({ id: r.id, userId: r.userId, userInput: r.userInput })),
      ),
    setRedemptionStatus: (rewardId, redemptionId, status) =>
      call('updateRedemptionStatus', async () => {
        await channelPoints.updateRedemptionStatusByIds(broadcaster.id, rewardId, [redemptionId], status);
      }),
  };
}
