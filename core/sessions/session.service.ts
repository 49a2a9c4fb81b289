import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../shared/clock.js';
import type { StaffUser } from '../users/user.repository.js';
import type { SessionRepository } from './session.repository.js';

export interface SessionPolicy {
  /** A session unused this long ends (PANEL_SESSION_IDLE_MINUTES). */
  idleMs: number;
  /** A session ends this long after sign-in, however busy (PANEL_SESSION_MAX_HOURS). */
  maxMs: number;
}

export interface ActiveSession {
  id: string;
  user: StaffUser;
  csrf: string;
  expiresAt: Date;
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
// Writing lastSeenAt on every request would be a write per page view; a minute's slack is harmless.
const TOUCH_EVERY_MS = 60_000;

/** Panel sessions: a random token in the cookie, only its hash in the database, idle and absolute expiry. */
export function createSessionService(deps: { repo: SessionRepository; users: { byId(id: string): Promise<StaffUser | null> }; clock: Clock; policy: SessionPolicy }) {
  const { repo, clock, policy } = deps;
  return {
    policy,
    async start(user: StaffUser): Promise<{ token: string; csrf: string; expiresAt: Date }> {
      const now = clock.now();
      await repo.removeEnded(now, new Date(now.getTime() - policy.idleMs));
      const token = randomBytes(32).toString('base64url');
      const csrf = randomBytes(24).toString('base64url');
      const expiresAt = new Date(now.getTime() + policy.maxMs);
      await repo.insert({ _id: hashToken(token), userId: user.id, csrf, createdAt: now, lastSeenAt: now, expiresAt });
      return { token, csrf, expiresAt };
    },

    /** The live session of a cookie's token, or null (ended, unknown, or its user disabled). */
    async resume(token: string): Promise<ActiveSession | null> {
      if (!/^[\w-]{20,100}$/.test(token)) return null;
      const id = hashToken(token);
      const s = await repo.byId(id);
      if (!s) return null;
      const now = clock.now().getTime();
      if (now >= s.expiresAt.getTime() || now - s.lastSeenAt.getTime() >= policy.idleMs) {
        await repo.remove(id);
        return null;
      }
      const user = await deps.users.byId(s.userId);
      if (!user?.active) return null;
      if (now - s.lastSeenAt.getTime() >= TOUCH_EVERY_MS) await repo.touch(id, new Date(now));
      return { id, user, csrf: s.csrf, expiresAt: s.expiresAt };
    },

    async end(token: string): Promise<void> {
      await repo.remove(hashToken(token));
    },

    /** Signs a user out everywhere (disabled, role changed, password changed). */
    endAllFor: (userId: string) => repo.removeForUser(userId),
  };
}
export type SessionService = ReturnType<typeof createSessionService>;
