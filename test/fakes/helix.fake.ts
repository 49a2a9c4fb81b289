/**
 * A wire-level fake of Twitch Helix and of id.twitch.tv (OAuth), on one local HTTP server.
 *
 * The real twurple ApiClient / RefreshingAuthProvider talk to it when TWURPLE_MOCK_API_PORT is
 * set to `fake.port` (twurple's own mock switch, @twurple/common getMockApiPort): Helix calls go
 * to `http://localhost:<port>/mock/<endpoint>`, OAuth calls to `http://localhost:<port>/auth/<endpoint>`
 * (token, device, validate, revoke). Our device-code script uses `fake.authBaseUrl` (…/auth).
 *
 *   const fake = await startFakeHelix();
 *   process.env.TWURPLE_MOCK_API_PORT = String(fake.port);
 *
 * Helix endpoints (answers `{data:[…], pagination?}` or `{error, status, message}`):
 * - GET users (?id=, ?login=, none: the token's user);
 * - POST/GET/PATCH/DELETE channel_points/custom_rewards (broadcaster must be the token's user,
 *   affiliate or partner; title 1–45 chars and unique per channel → 400 CREATE_CUSTOM_REWARD_DUPLICATE_REWARD;
 *   prompt ≤ 200; cost ≥ 1; at most 50 rewards);
 * - GET channel_points/custom_rewards/redemptions (by reward_id + status, sort OLDEST|NEWEST,
 *   first ≤ 50, cursor paging; or by id=); only for rewards created by the same client id (403);
 * - PATCH channel_points/custom_rewards/redemptions?id=…&reward_id=… {status: FULFILLED|CANCELED}:
 *   only UNFULFILLED redemptions change; none matching → 404.
 * Scopes are checked (channel:read:redemptions / channel:manage:redemptions), Client-ID must be
 * the app's, the Bearer token must be live (expired or unknown → 401, which makes twurple refresh).
 *
 * OAuth endpoints (form body or query string, as twurple sends them):
 * - POST device {client_id, scopes} → {device_code, user_code, verification_uri, expires_in, interval};
 * - POST token grant_type=urn:ietf:params:oauth:grant-type:device_code → 400 authorization_pending
 *   until `approveDevice(userCode, userId)` (or `autoApproveDevice`), then the token;
 *   grant_type=refresh_token → a new pair (refresh tokens are single-use, as on Twitch);
 * - GET validate (Authorization: OAuth <token>) → {client_id, login, scopes, user_id, expires_in}.
 *
 * Failures on demand: `failNext('PATCH redemptions', times, status)` (keys: `<METHOD> <route>`,
 * route one of users, rewards, redemptions, token, device, validate).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;

export interface FakeTwitchUser {
  id: string;
  login: string;
  displayName: string;
  broadcasterType: '' | 'affiliate' | 'partner';
}

export interface FakeReward {
  id: string;
  broadcasterId: string;
  clientId: string;
  title: string;
  prompt: string;
  cost: number;
  isEnabled: boolean;
  isPaused: boolean;
  userInputRequired: boolean;
  autoFulfill: boolean;
  backgroundColor: string;
}

export interface FakeRedemption {
  id: string;
  rewardId: string;
  broadcasterId: string;
  userId: string;
  userLogin: string;
  userInput: string;
  status: 'UNFULFILLED' | 'FULFILLED' | 'CANCELED';
  redeemedAt: Date;
}

export interface FakeHelixCall {
  method: string;
  route: string;
  path: string;
  query: Record<string, string[]>;
  body: Json | undefined;
  status: number;
}

interface TokenInfo {
  userId: string;
  clientId: string;
  scopes: string[];
  expiresAt: number;
}

interface DeviceGrant {
  deviceCode: string;
  userCode: string;
  clientId: string;
  scopes: string[];
  approvedBy: string | null;
  used: boolean;
}

export interface FakeHelix {
  port: number;
  /** http://localhost:<port>/auth: the id.twitch.tv/oauth2 base for our own device-code client. */
  authBaseUrl: string;
  clientId: string;
  clientSecret: string;
  calls: FakeHelixCall[];
  addUser(user: Partial<FakeTwitchUser> & { id: string; login: string }): FakeTwitchUser;
  /** A live user token, as after the broadcaster authorised the app. */
  issueToken(userId: string, opts?: { scopes?: string[]; expiresInSeconds?: number }): { accessToken: string; refreshToken: string; scopes: string[]; expiresIn: number };
  /** Makes an access token invalid (as when Twitch expires it early): the next call with it answers 401. */
  revokeAccessToken(accessToken: string): void;
  rewards(broadcasterId?: string): FakeReward[];
  redemptions(rewardId?: string): FakeRedemption[];
  /** A viewer redeems a reward (status UNFULFILLED); returns the redemption. */
  redeem(rewardId: string, viewer: { userId: string; login?: string; userInput?: string }): FakeRedemption;
  failNext(key: string, times: number, status?: number): void;
  approveDevice(userCode: string, userId: string): void;
  /** Every new device grant is approved for this user right away (null: off). */
  autoApproveDevice(userId: string | null): void;
  devicePolls: number;
  close(): Promise<void>;
}

const MANAGE = 'channel:manage:redemptions';
const READ = 'channel:read:redemptions';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly oauth = false,
  ) {
    super(message);
  }
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error' };

function routeOf(path: string): string | null {
  const map: Record<string, string> = {
    '/mock/users': 'users',
    '/mock/channel_points/custom_rewards': 'rewards',
    '/mock/channel_points/custom_rewards/redemptions': 'redemptions',
    '/auth/token': 'token',
    '/auth/device': 'device',
    '/auth/validate': 'validate',
    '/auth/revoke': 'revoke',
  };
  return map[path] ?? null;
}

export async function startFakeHelix(opts: { clientId?: string; clientSecret?: string } = {}): Promise<FakeHelix> {
  const clientId = opts.clientId ?? `fakeclient${randomBytes(6).toString('hex')}`;
  const clientSecret = opts.clientSecret ?? randomBytes(15).toString('hex');
  const users = new Map<string, FakeTwitchUser>();
  const tokens = new Map<string, TokenInfo>();
  const refreshTokens = new Map<string, { userId: string; clientId: string; scopes: string[] }>();
  const rewards = new Map<string, FakeReward>();
  const redemptions = new Map<string, FakeRedemption>();
  const devices = new Map<string, DeviceGrant>();
  const failures = new Map<string, { times: number; status: number }>();
  const calls: FakeHelixCall[] = [];
  let autoApprove: string | null = null;
  let seq = 0;

  function mint(userId: string, client: string, scopes: string[], expiresInSeconds = 14_400) {
    const accessToken = randomBytes(15).toString('hex');
    const refreshToken = randomBytes(25).toString('hex');
    tokens.set(accessToken, { userId, clientId: client, scopes, expiresAt: Date.now() + expiresInSeconds * 1000 });
    refreshTokens.set(refreshToken, { userId, clientId: client, scopes });
    return { accessToken, refreshToken, scopes, expiresIn: expiresInSeconds };
  }

  function tokenJson(t: ReturnType<typeof mint>): Json {
    return { access_token: t.accessToken, refresh_token: t.refreshToken, expires_in: t.expiresIn, scope: t.scopes, token_type: 'bearer' };
  }

  const one = (q: Record<string, string[]>, k: string): string | undefined => q[k]?.[0];

  function userJson(u: FakeTwitchUser): Json {
    return {
      id: u.id,
      login: u.login,
      display_name: u.displayName,
      type: '',
      broadcaster_type: u.broadcasterType,
      description: '',
      profile_image_url: '',
      offline_image_url: '',
      view_count: 0,
      created_at: '2020-01-01T00:00:00Z',
    };
  }

  function rewardJson(r: FakeReward): Json {
    const u = users.get(r.broadcasterId);
    return {
      broadcaster_id: r.broadcasterId,
      broadcaster_login: u?.login ?? '',
      broadcaster_name: u?.displayName ?? '',
      id: r.id,
      title: r.title,
      prompt: r.prompt,
      cost: r.cost,
      image: null,
      default_image: { url_1x: '', url_2x: '', url_4x: '' },
      background_color: r.backgroundColor,
      is_enabled: r.isEnabled,
      is_user_input_required: r.userInputRequired,
      max_per_stream_setting: { is_enabled: false, max_per_stream: 0 },
      max_per_user_per_stream_setting: { is_enabled: false, max_per_user_per_stream: 0 },
      global_cooldown_setting: { is_enabled: false, global_cooldown_seconds: 0 },
      is_paused: r.isPaused,
      is_in_stock: true,
      should_redemptions_skip_request_queue: r.autoFulfill,
      redemptions_redeemed_current_stream: null,
      cooldown_expires_at: null,
    };
  }

  function redemptionJson(d: FakeRedemption): Json {
    const b = users.get(d.broadcasterId);
    const r = rewards.get(d.rewardId);
    return {
      broadcaster_id: d.broadcasterId,
      broadcaster_login: b?.login ?? '',
      broadcaster_name: b?.displayName ?? '',
      id: d.id,
      user_id: d.userId,
      user_login: d.userLogin,
      user_name: d.userLogin,
      user_input: d.userInput,
      status: d.status,
      redeemed_at: d.redeemedAt.toISOString(),
      reward: { id: d.rewardId, title: r?.title ?? '', prompt: r?.prompt ?? '', cost: r?.cost ?? 0 },
    };
  }

  /** The live token of a Helix call (Client-ID and Bearer checked). */
  function authHelix(req: IncomingMessage): TokenInfo {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (\S+)$/.exec(auth);
    const info = m?.[1] ? tokens.get(m[1]) : undefined;
    if (!info || info.expiresAt <= Date.now()) throw new HttpError(401, 'Invalid OAuth token');
    if (req.headers['client-id'] !== info.clientId) throw new HttpError(401, 'Client ID and OAuth token do not match');
    return info;
  }

  function needScope(t: TokenInfo, ...anyOf: string[]): void {
    if (!anyOf.some((s) => t.scopes.includes(s))) throw new HttpError(401, `Missing scope: ${anyOf.join(' or ')}`);
  }

  function needBroadcaster(t: TokenInfo, q: Record<string, string[]>): FakeTwitchUser {
    const id = one(q, 'broadcaster_id');
    if (!id) throw new HttpError(400, 'Missing required parameter "broadcaster_id"');
    if (id !== t.userId) throw new HttpError(403, 'The ID in broadcaster_id must match the user ID found in the request\'s OAuth token.');
    const u = users.get(id);
    if (!u) throw new HttpError(400, 'unknown broadcaster');
    if (u.broadcasterType === '') throw new HttpError(403, 'The broadcaster must be a partner or affiliate.');
    return u;
  }

  function validateRewardFields(body: Json, creating: boolean, broadcasterId: string, selfId?: string): void {
    if (creating || body.title !== undefined) {
      const title = body.title;
      if (typeof title !== 'string' || title.length < 1 || title.length > 45) throw new HttpError(400, 'The title must be 1–45 characters');
      const dup = [...rewards.values()].some((r) => r.broadcasterId === broadcasterId && r.id !== selfId && r.title.toLowerCase() === title.toLowerCase());
      if (dup) throw new HttpError(400, 'CREATE_CUSTOM_REWARD_DUPLICATE_REWARD');
    }
    if (creating || body.cost !== undefined) {
      if (typeof body.cost !== 'number' || !Number.isInteger(body.cost) || body.cost < 1) throw new HttpError(400, 'The cost must be at least 1');
    }
    if (body.prompt !== undefined && (typeof body.prompt !== 'string' || body.prompt.length > 200)) throw new HttpError(400, 'The prompt is limited to 200 characters');
  }

  function helix(req: IncomingMessage, route: string, q: Record<string, string[]>, body: Json | undefined): { status: number; json?: Json } {
    const t = authHelix(req);
    const method = req.method ?? 'GET';
    if (route === 'users' && method === 'GET') {
      const ids = q.id ?? [];
      const logins = (q.login ?? []).map((l) => l.toLowerCase());
      const found =
        ids.length + logins.length === 0
          ? [users.get(t.userId)].filter((u): u is FakeTwitchUser => u !== undefined)
          : [...users.values()].filter((u) => ids.includes(u.id) || logins.includes(u.login));
      return { status: 200, json: { data: found.map(userJson) } };
    }
    if (route === 'rewards') {
      if (method === 'GET') needScope(t, READ, MANAGE);
      else needScope(t, MANAGE);
      const b = needBroadcaster(t, q);
      if (method === 'POST') {
        const data = body ?? {};
        validateRewardFields(data, true, b.id);
        if ([...rewards.values()].filter((r) => r.broadcasterId === b.id).length >= 50) throw new HttpError(400, 'CREATE_CUSTOM_REWARD_TOO_MANY_REWARDS');
        const r: FakeReward = {
          id: randomUUID(),
          broadcasterId: b.id,
          clientId: t.clientId,
          title: data.title as string,
          prompt: typeof data.prompt === 'string' ? data.prompt : '',
          cost: data.cost as number,
          isEnabled: data.is_enabled !== false,
          isPaused: data.is_paused === true,
          userInputRequired: data.is_user_input_required === true,
          autoFulfill: data.should_redemptions_skip_request_queue === true,
          backgroundColor: typeof data.background_color === 'string' ? data.background_color : '#9147FF',
        };
        rewards.set(r.id, r);
        return { status: 200, json: { data: [rewardJson(r)] } };
      }
      if (method === 'GET') {
        const ids = q.id ?? [];
        const onlyManageable = one(q, 'only_manageable_rewards') === 'true';
        const list = [...rewards.values()].filter((r) => r.broadcasterId === b.id && (ids.length === 0 || ids.includes(r.id)) && (!onlyManageable || r.clientId === t.clientId));
        if (ids.length > 0 && list.length === 0) throw new HttpError(404, 'Not Found');
        return { status: 200, json: { data: list.map(rewardJson) } };
      }
      const r = rewards.get(one(q, 'id') ?? '');
      if (!r || r.broadcasterId !== b.id) throw new HttpError(404, 'Not Found');
      if (r.clientId !== t.clientId) throw new HttpError(403, 'The reward was created by a different client');
      if (method === 'DELETE') {
        rewards.delete(r.id);
        for (const d of redemptions.values()) if (d.rewardId === r.id && d.status === 'UNFULFILLED') d.status = 'CANCELED';
        return { status: 204 };
      }
      if (method === 'PATCH') {
        const data = body ?? {};
        validateRewardFields(data, false, b.id, r.id);
        if (typeof data.title === 'string') r.title = data.title;
        if (typeof data.prompt === 'string') r.prompt = data.prompt;
        if (typeof data.cost === 'number') r.cost = data.cost;
        if (typeof data.is_enabled === 'boolean') r.isEnabled = data.is_enabled;
        if (typeof data.is_paused === 'boolean') r.isPaused = data.is_paused;
        if (typeof data.is_user_input_required === 'boolean') r.userInputRequired = data.is_user_input_required;
        return { status: 200, json: { data: [rewardJson(r)] } };
      }
    }
    if (route === 'redemptions') {
      if (method === 'GET') needScope(t, READ, MANAGE);
      else needScope(t, MANAGE);
      const b = needBroadcaster(t, q);
      const reward = rewards.get(one(q, 'reward_id') ?? '');
      if (!reward || reward.broadcasterId !== b.id) throw new HttpError(404, 'Not Found');
      if (reward.clientId !== t.clientId) throw new HttpError(403, 'The ID in the Client-Id header must match the client ID used to create the custom reward.');
      const ids = q.id ?? [];
      if (method === 'GET') {
        if (ids.length > 0) {
          const list = [...redemptions.values()].filter((d) => d.rewardId === reward.id && ids.includes(d.id));
          return { status: 200, json: { data: list.map(redemptionJson), pagination: {} } };
        }
        const status = one(q, 'status');
        if (!status || !['UNFULFILLED', 'FULFILLED', 'CANCELED'].includes(status)) throw new HttpError(400, 'The status query parameter is required');
        const first = Number(one(q, 'first') ?? '20');
        if (!Number.isInteger(first) || first < 1 || first > 50) throw new HttpError(400, 'first must be 1–50');
        const sort = one(q, 'sort') ?? 'OLDEST';
        const all = [...redemptions.values()].filter((d) => d.rewardId === reward.id && d.status === status);
        all.sort((x, y) => (x.redeemedAt.getTime() - y.redeemedAt.getTime()) * (sort === 'NEWEST' ? -1 : 1));
        const after = one(q, 'after');
        const start = after ? Number(Buffer.from(after, 'base64url').toString()) : 0;
        const page = all.slice(start, start + first);
        const more = start + first < all.length;
        return { status: 200, json: { data: page.map(redemptionJson), pagination: more ? { cursor: Buffer.from(String(start + first)).toString('base64url') } : {} } };
      }
      if (method === 'PATCH') {
        if (ids.length === 0 || ids.length > 50) throw new HttpError(400, 'id: 1–50 redemption ids');
        const status = body?.status;
        if (status !== 'FULFILLED' && status !== 'CANCELED') throw new HttpError(400, 'status must be FULFILLED or CANCELED');
        const list = [...redemptions.values()].filter((d) => d.rewardId === reward.id && ids.includes(d.id) && d.status === 'UNFULFILLED');
        if (list.length === 0) throw new HttpError(404, 'No redemptions were found with status UNFULFILLED for the given ids');
        for (const d of list) d.status = status;
        return { status: 200, json: { data: list.map(redemptionJson) } };
      }
    }
    throw new HttpError(404, 'Not Found');
  }

  function oauth(req: IncomingMessage, route: string, params: Record<string, string[]>): { status: number; json?: Json } {
    const p = (k: string): string | undefined => one(params, k);
    if (route === 'validate') {
      const m = /^(?:OAuth|Bearer) (\S+)$/i.exec(req.headers.authorization ?? '');
      const info = m?.[1] ? tokens.get(m[1]) : undefined;
      if (!info || info.expiresAt <= Date.now()) throw new HttpError(401, 'invalid access token', true);
      const u = users.get(info.userId);
      return { status: 200, json: { client_id: info.clientId, login: u?.login ?? '', scopes: info.scopes, user_id: info.userId, expires_in: Math.floor((info.expiresAt - Date.now()) / 1000) } };
    }
    if (req.method !== 'POST') throw new HttpError(404, 'Not Found', true);
    if (route === 'device') {
      if (p('client_id') !== clientId) throw new HttpError(400, 'invalid client', true);
      const scopes = (p('scopes') ?? '').split(/[\s+]+/).filter(Boolean);
      const grant: DeviceGrant = {
        deviceCode: randomBytes(20).toString('hex'),
        userCode: randomBytes(4).toString('hex').toUpperCase(),
        clientId,
        scopes,
        approvedBy: autoApprove,
        used: false,
      };
      devices.set(grant.deviceCode, grant);
      return { status: 200, json: { device_code: grant.deviceCode, user_code: grant.userCode, verification_uri: `https://www.twitch.tv/activate?device-code=${grant.userCode}`, expires_in: 1800, interval: 1 } };
    }
    if (route === 'token') {
      if (p('client_id') !== clientId) throw new HttpError(400, 'invalid client', true);
      const grantType = p('grant_type');
      if (grantType === DEVICE_GRANT) {
        fake.devicePolls += 1;
        const grant = devices.get(p('device_code') ?? '');
        if (!grant || grant.used) throw new HttpError(400, 'invalid device code', true);
        if (!grant.approvedBy) throw new HttpError(400, 'authorization_pending', true);
        grant.used = true;
        return { status: 200, json: tokenJson(mint(grant.approvedBy, clientId, grant.scopes)) };
      }
      if (grantType === 'refresh_token') {
        const rt = refreshTokens.get(p('refresh_token') ?? '');
        if (!rt) throw new HttpError(400, 'Invalid refresh token', true);
        if (p('client_secret') !== undefined && p('client_secret') !== clientSecret) throw new HttpError(403, 'invalid client secret', true);
        refreshTokens.delete(p('refresh_token') ?? '');
        return { status: 200, json: tokenJson(mint(rt.userId, rt.clientId, rt.scopes)) };
      }
      throw new HttpError(400, 'unsupported grant_type', true);
    }
    if (route === 'revoke') {
      tokens.delete(p('token') ?? '');
      return { status: 200 };
    }
    throw new HttpError(404, 'Not Found', true);
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  function send(res: ServerResponse, status: number, json?: Json): void {
    const headers: Record<string, string | number> = { 'Ratelimit-Limit': 800, 'Ratelimit-Remaining': 799, 'Ratelimit-Reset': Math.floor(Date.now() / 1000) + 60 };
    if (json === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    res.writeHead(status, { ...headers, 'Content-Type': 'application/json' }).end(JSON.stringify(json));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routeOf(url.pathname);
    const query: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
    const raw = await readBody(req);
    let body: Json | undefined;
    const params: Record<string, string[]> = { ...query };
    const type = req.headers['content-type'] ?? '';
    if (raw.length > 0 && type.startsWith('application/json')) body = JSON.parse(raw.toString('utf8')) as Json;
    else if (raw.length > 0) for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) (params[k] ??= []).push(v);
    const call: FakeHelixCall = { method: req.method ?? 'GET', route: route ?? url.pathname, path: url.pathname, query: params, body, status: 0 };
    calls.push(call);
    const failure = failures.get(`${call.method} ${call.route}`);
    if (failure && failure.times > 0) {
      failure.times -= 1;
      call.status = failure.status;
      send(res, failure.status, { error: STATUS_TEXT[failure.status] ?? 'Error', status: failure.status, message: 'injected failure' });
      return;
    }
    try {
      if (!route) throw new HttpError(404, 'Not Found');
      const out = url.pathname.startsWith('/auth/') ? oauth(req, route, params) : helix(req, route, query, body);
      call.status = out.status;
      send(res, out.status, out.json);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      call.status = err.status;
      send(res, err.status, err.oauth ? { status: err.status, message: err.message } : { error: STATUS_TEXT[err.status] ?? 'Error', status: err.status, message: err.message });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'Internal Server Error', status: 500, message: String(err) }));
    });
  });
  // No host: dual-stack, so `localhost` (twurple's mock URLs) reaches it over IPv4 or IPv6.
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const port = (server.address() as AddressInfo).port;

  const fake: FakeHelix = {
    port,
    authBaseUrl: `http://localhost:${port}/auth`,
    clientId,
    clientSecret,
    calls,
    devicePolls: 0,
    addUser(u) {
      // Twitch logins are lowercase; the display name keeps the case.
      const user: FakeTwitchUser = { displayName: u.login, broadcasterType: 'affiliate', ...u, login: u.login.toLowerCase() };
      users.set(user.id, user);
      return user;
    },
    issueToken(userId, o = {}) {
      return mint(userId, clientId, o.scopes ?? [READ, MANAGE], o.expiresInSeconds);
    },
    revokeAccessToken(accessToken) {
      tokens.delete(accessToken);
    },
    rewards: (broadcasterId) => [...rewards.values()].filter((r) => !broadcasterId || r.broadcasterId === broadcasterId),
    redemptions: (rewardId) => [...redemptions.values()].filter((d) => !rewardId || d.rewardId === rewardId),
    redeem(rewardId, viewer) {
      const r = rewards.get(rewardId);
      if (!r) throw new Error(`no reward ${rewardId}`);
      const d: FakeRedemption = {
        id: randomUUID(),
        rewardId,
        broadcasterId: r.broadcasterId,
        userId: viewer.userId,
        userLogin: viewer.login ?? `viewer${viewer.userId}`,
        userInput: viewer.userInput ?? '',
        status: r.autoFulfill ? 'FULFILLED' : 'UNFULFILLED',
        redeemedAt: new Date(Date.now() + ++seq),
      };
      redemptions.set(d.id, d);
      return d;
    },
    failNext(key, times, status = 500) {
      failures.set(key, { times, status });
    },
    approveDevice(userCode, userId) {
      const grant = [...devices.values()].find((g) => g.userCode === userCode);
      if (!grant) throw new Error(`no device grant with user code ${userCode}`);
      grant.approvedBy = userId;
    },
    autoApproveDevice(userId) {
      autoApprove = userId;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
  return fake;
}
