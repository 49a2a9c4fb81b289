import { createHmac, randomBytes } from 'node:crypto';
import { sameSecret } from '../shared/secrets.js';

/** How long a join form may be filled in before it must be loaded again. */
export const JOIN_FORM_TTL_MS = 2 * 60 * 60 * 1000;

/**
 * The join page's anti-forgery token (the page is public: there is no session to tie it to).
 * The form carries `<expiry>.<nonce>.<mac>`, signed with the programme's key, and the browser
 * holds the nonce in a SameSite=Strict cookie: another site can neither read the token nor
 * make the browser send the cookie with its own POST (double submit, signed).
 */
export function createJoinFormTokens(key: string, now: () => Date) {
  const mac = (payload: string): string => createHmac('sha256', key).update(`join-form:${payload}`).digest('base64url');
  return {
    issue(): { token: string; nonce: string } {
      const nonce = randomBytes(16).toString('base64url');
      const payload = `${now().getTime() + JOIN_FORM_TTL_MS}.${nonce}`;
      return { token: `${payload}.${mac(payload)}`, nonce };
    },
    /** Whether the form's token is ours, unexpired, and matches the nonce in the cookie. */
    valid(token: string | undefined, cookieNonce: string | undefined): boolean {
      if (!token || !cookieNonce || token.length > 200) return false;
      const [exp, nonce, sig, extra] = token.split('.');
      if (!exp || !nonce || !sig || extra !== undefined) return false;
      if (!/^\d{1,15}$/.test(exp) || Number(exp) < now().getTime()) return false;
      return sameSecret(sig, mac(`${exp}.${nonce}`)) && sameSecret(nonce, cookieNonce);
    },
  };
}
export type JoinFormTokens = ReturnType<typeof createJoinFormTokens>;
