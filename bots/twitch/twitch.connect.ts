import type { TwitchTokenRepository } from '../../core/twitch/twitch-token.repository.js';
import { TWITCH_SCOPES } from './twitch.client.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export class TwitchConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TwitchConnectError';
  }
}

interface OAuthAnswer {
  status: number;
  json: Record<string, unknown>;
}

async function post(url: string, form: Record<string, string>): Promise<OAuthAnswer> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body: new URLSearchParams(form).toString() });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { message: text.slice(0, 200) };
  }
  return { status: res.status, json };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/**
 * The device code flow (RFC 8628 as id.twitch.tv runs it): asks for a user code, tells the
 * operator where to type it, polls the token endpoint until the broadcaster approves, checks
 * who the token belongs to (/validate) and stores it. No redirect URL or web server needed.
 */
export async function connectTwitch(deps: {
  clientId: string;
  /** https://id.twitch.tv/oauth2, or a fake. */
  authBaseUrl: string;
  tokens: TwitchTokenRepository;
  print: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  /** Gives up after this long even if Twitch's code is still valid. */
  timeoutMs?: number;
}): Promise<{ userId: string; login: string; scopes: string[] }> {
  const base = deps.authBaseUrl.replace(/\/+$/, '');
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const scopes = TWITCH_SCOPES.join(' ');
  const device = await post(`${base}/device`, { client_id: deps.clientId, scopes });
  const deviceCode = str(device.json.device_code);
  const userCode = str(device.json.user_code);
  const verificationUri = str(device.json.verification_uri);
  if (device.status !== 200 || !deviceCode || !userCode || !verificationUri) {
    throw new TwitchConnectError(`Twitch refused the device code request (${device.status}): ${JSON.stringify(device.json)}. Is TWITCH_CLIENT_ID right, and the app's client type "Public" or device flow enabled?`);
  }
  deps.print(`Open ${verificationUri} logged in as the broadcaster and enter the code ${userCode}`);
  let interval = Math.max(1, Number(device.json.interval) || 5) * 1000;
  const expiresInMs = (Number(device.json.expires_in) || 1800) * 1000;
  const deadline = Date.now() + Math.min(expiresInMs, deps.timeoutMs ?? expiresInMs);
  for (;;) {
    if (Date.now() > deadline) throw new TwitchConnectError('The code expired before it was approved: run npm run twitch:connect again.');
    await sleep(interval);
    const t = await post(`${base}/token`, { client_id: deps.clientId, scopes, device_code: deviceCode, grant_type: DEVICE_GRANT });
    if (t.status === 200) {
      const accessToken = str(t.json.access_token);
      const refreshToken = str(t.json.refresh_token);
      if (!accessToken || !refreshToken) throw new TwitchConnectError('Twitch answered without an access and refresh token.');
      const granted = Array.isArray(t.json.scope) ? t.json.scope.filter((s): s is string => typeof s === 'string') : [];
      const v = await fetch(`${base}/validate`, { headers: { Authorization: `OAuth ${accessToken}` } });
      if (!v.ok) throw new TwitchConnectError(`The new token did not validate (${v.status}).`);
      const info = (await v.json()) as { user_id?: string; login?: string; scopes?: string[] };
      if (!info.user_id || !info.login) throw new TwitchConnectError('The token has no user: not a user token.');
      const login = info.login.toLowerCase();
      const scope = granted.length > 0 ? granted : (info.scopes ?? []);
      const missing = TWITCH_SCOPES.filter((s) => !scope.includes(s));
      if (missing.length > 0) throw new TwitchConnectError(`The token lacks ${missing.join(', ')}.`);
      await deps.tokens.save(info.user_id, { accessToken, refreshToken, scope, expiresIn: typeof t.json.expires_in === 'number' ? t.json.expires_in : null, obtainmentTimestamp: Date.now() }, login);
      deps.print(`Connected Twitch channel ${login} (id ${info.user_id}); the token is stored.`);
      return { userId: info.user_id, login, scopes: scope };
    }
    const message = str(t.json.message) ?? '';
    if (message === 'authorization_pending') continue;
    if (message === 'slow_down') {
      interval += 5000;
      continue;
    }
    if (/expired|invalid device code/i.test(message)) throw new TwitchConnectError('The code expired or was denied: run npm run twitch:connect again.');
    throw new TwitchConnectError(`Twitch refused the token request (${t.status}): ${message || JSON.stringify(t.json)}`);
  }
}
