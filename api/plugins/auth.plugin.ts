import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { DomainError } from '../../core/shared/errors.js';
import { sameSecret } from '../../core/shared/secrets.js';
import type { Store, StoreRepository } from '../../core/stores/store.repository.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The store whose key authenticated this request (till routes); null elsewhere. */
    store: Store | null;
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
      if (!token) throw unauthorized(reply, 'send the admin token as Authorization: Bearer <token>');
      if (!adminToken || !sameSecret(token, adminToken)) throw unauthorized(reply, 'wrong admin token');
    });
  },
  { name: 'auth', fastify: '5.x' },
);

/** The authenticated store of a till request. */
export function storeOf(req: FastifyRequest): Store {
  if (!req.store) throw new DomainError('unauthorized', 'no store on this request');
  return req.store;
}
