import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { can } from '../../core/access/access.policy.js';
import type { SessionService } from '../../core/sessions/session.service.js';
import { DomainError } from '../../core/shared/errors.js';
import { sameSecret } from '../../core/shared/secrets.js';
import type { Store, StoreRepository } from '../../core/stores/store.repository.js';
import type { StaffUser } from '../../core/users/user.repository.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../panel/panel.cookies.js';

/** Who made an admin request: the bearer admin token, or an owner signed in to the panel. */
export type AdminActor = { kind: 'token' } | { kind: 'user'; user: StaffUser };

declare module 'fastify' {
  interface FastifyRequest {
    /** The store whose key authenticated this request (till routes); null elsewhere. */
    store: Store | null;
    /** Who authenticated an admin request (for the audit log); null elsewhere. */
    adminActor: AdminActor | null;
  }
  interface FastifyInstance {
    /** onRequest hook of till routes: `Authorization: Bearer <store key>`. */
    authenticateStore(req: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** onRequest hook of admin routes: `Authorization: Bearer <admin token>`. */
    authenticateAdmin(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

export interface AuthOptions {
  stores: Pick<StoreRepository, 'findByKey'>;
  /** Without one, every admin request is refused. */
  adminToken: string | undefined;
  /** Panel sessions: an owner signed in to the panel may call the admin API too (with the CSRF header on changes). */
  sessions?: Pick<SessionService, 'resume'> | undefined;
}

const BEARER_RE = /^Bearer[ \t]+([\x21-\x7e]{1,512})[ \t]*$/i;

/** The credential of `Authorization: Bearer <token>`, or null. */
export function bearerToken(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  return typeof h === 'string' ? (BEARER_RE.exec(h)?.[1] ?? null) : null;
}

function unauthorized(reply: FastifyReply, message: string): DomainError {
  reply.header('www-authenticate', 'Bearer');
  return new DomainError('unauthorized', message);
}

/** Decorates the app with the two authentication hooks; the route scopes choose which applies. */
export const authPlugin = fp<AuthOptions>(
  async (app: FastifyInstance, opts) => {
    const adminToken = opts.adminToken;
    app.decorateRequest('store', null);
    app.decorateRequest('adminActor', null);

    app.decorate('authenticateStore', async (req: FastifyRequest, reply: FastifyReply) => {
      const token = bearerToken(req);
      if (!token) throw unauthorized(reply, 'send the store key as Authorization: Bearer <key>');
      // Keys are stored hashed only; findByKey hashes before it asks.
      const store = await opts.stores.findByKey(token);
      if (!store) throw unauthorized(reply, 'unknown or inactive store key');
      req.store = store;
    });

    app.decorate('authenticateAdmin', async (req: FastifyRequest, reply: FastifyReply) => {
      const token = bearerToken(req);
      const cookie = req.cookies[SESSION_COOKIE];
      if (!token && cookie && opts.sessions) {
        const session = await opts.sessions.resume(cookie);
        if (!session) throw unauthorized(reply, 'the panel session has ended: sign in again');
        if (!can(session.user.role, 'admin.api')) throw new DomainError('forbidden', `the ${session.user.role} role may not use the admin API`);
        // A cookie rides along with any request the browser makes: changes need the session's own token too.
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          const sent = req.headers[CSRF_HEADER];
          if (typeof sent !== 'string' || !sameSecret(sent, session.csrf)) throw new DomainError('csrf_failed', `send the session's CSRF token in ${CSRF_HEADER}`);
        }
        req.adminActor = { kind: 'user', user: session.user };
        return;
      }
      if (!token) throw unauthorized(reply, 'send the admin token as Authorization: Bearer <token>');
      if (!adminToken || !sameSecret(token, adminToken)) throw unauthorized(reply, 'wrong admin token');
      req.adminActor = { kind: 'token' };
    });
  },
  { name: 'auth', fastify: '5.x' },
);

/** The authenticated store of a till request. */
export function storeOf(req: FastifyRequest): Store {
  if (!req.store) throw new DomainError('unauthorized', 'no store on this request');
  return req.store;
}
