import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions, onRequestAsyncHookHandler, onSendHookHandler, preHandlerAsyncHookHandler } from 'fastify';
import { listPlugin, logPlugin, registrationPlugin, updatePlugin } from 'fastify-passkit-webservice/v1';
import { z } from 'zod';
import type { Wallet } from '../../core/wallet/wallet.service.js';
import { WALLET_WEB_SERVICE_PATH } from '../../core/wallet/wallet.types.js';
import { redactText } from '../../infra/logger.js';

export { WALLET_WEB_SERVICE_PATH as PASSKIT_PREFIX };

const device = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/).describe('deviceLibraryIdentifier');
const passType = z.string().regex(/^pass\.[A-Za-z0-9.-]{1,200}$/).describe('passTypeIdentifier');
const serial = z.string().regex(/^[0-9A-Z]{4,32}$/).describe('serialNumber (the card number)');
const passParams = z.strictObject({ passTypeIdentifier: passType, serialNumber: serial });
const registrationParams = passParams.extend({ deviceLibraryIdentifier: device });

const LOG_ROUTE = 'POST /v1/log';
/** What a device may send to the log route: Wallet sends a few short lines; anything bigger is refused unread. */
const LOG_LINES_MAX = 20;
const LOG_LINE_MAX = 1000;
const LOG_BODY_MAX = 32 * 1024;
/** What of it reaches our log: a few lines, cut short (it is unauthenticated text). */
const LOG_LINES_KEPT = 5;
const LOG_LINE_KEPT = 300;

/**
 * Our zod schemas for the library's routes (it ships JSON Schemas, which our zod compilers do
 * not read): requests are validated the same way as the rest of the API and documented in
 * OpenAPI under `passkit`.
 */
const SCHEMAS: Record<string, Record<string, unknown>> = {
  'POST /v1/devices/:deviceLibraryIdentifier/registrations/:passTypeIdentifier/:serialNumber': {
    summary: 'Register a device for pass updates (201 new, 200 known, 401 bad ApplePass token)',
    params: registrationParams,
    body: z.looseObject({ pushToken: z.string().regex(/^[0-9a-fA-F]{32,200}$/, 'an APNs device token (hex)') }),
  },
  'DELETE /v1/devices/:deviceLibraryIdentifier/registrations/:passTypeIdentifier/:serialNumber': {
    summary: 'Unregister a device (401 bad ApplePass token)',
    params: registrationParams,
  },
  'GET /v1/devices/:deviceLibraryIdentifier/registrations/:passTypeIdentifier': {
    summary: "Serial numbers of the device's passes updated since a tag (200) or none (204)",
    params: z.strictObject({ deviceLibraryIdentifier: device, passTypeIdentifier: passType }),
    querystring: z.looseObject({ passesUpdatedSince: z.string().max(40).optional() }),
  },
  'GET /v1/passes/:passTypeIdentifier/:serialNumber': {
    summary: 'The current pass (200 with Last-Modified), 304 after If-Modified-Since, 401 bad ApplePass token',
    params: passParams,
  },
  'POST /v1/log': {
    summary: 'Error messages from Wallet on devices (at most 20 of 1 000 characters; rate-limited per address)',
    body: z.looseObject({ logs: z.array(z.string().max(LOG_LINE_MAX)).max(LOG_LINES_MAX) }),
  },
};
const AUTHENTICATED = new Set([
  'POST /v1/devices/:deviceLibraryIdentifier/registrations/:passTypeIdentifier/:serialNumber',
  'DELETE /v1/devices/:deviceLibraryIdentifier/registrations/:passTypeIdentifier/:serialNumber',
  'GET /v1/passes/:passTypeIdentifier/:serialNumber',
]);



const asArray = <T>(h: T | T[] | undefined): T[] => (h === undefined ? [] : Array.isArray(h) ? h : [h]);

/**
 * The PassKit web service (Apple's five endpoints) through fastify-passkit-webservice, with our
 * storage behind it and three adjustments the library leaves to its user:
 *  - its token check sees only the token, not the pass: our preHandler checks the ApplePass
 *    token against the hash stored for that serial number (401 otherwise, nothing changes);
 *  - it stamps Last-Modified with the time of the request; we send the pass's own time,
 *    else a change landing during the request would be answered 304 later;
 *  - its response checks are for its own success answers; error answers (JSON) pass through;
 *  - its log route never answers (see logHandler), and takes any amount from anyone: ours is
 *    capped and rate-limited per address;
 *  - its registration would change only what we let it: one registration, never a device's others.
 * Register under PUBLIC_URL's webServiceURL path: `app.register(passkitRoutes({ wallet }), { prefix: PASSKIT_PREFIX })`.
 */
export function passkitRoutes(deps: { wallet: Wallet; logLimit?: onRequestAsyncHookHandler }): FastifyPluginAsync {
  const { wallet } = deps;
  const lastModified = new WeakMap<FastifyRequest, Date>();

  const authenticate: preHandlerAsyncHookHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    // Validated by the route schema before this hook runs.
    const p = req.params as z.infer<typeof passParams>;
    const token = /^ApplePass ([\x21-\x7e]{16,256})$/.exec(req.headers.authorization ?? '')?.[1];
    const doc = token && p.passTypeIdentifier === wallet.passTypeId ? await wallet.passes.authenticate(p.serialNumber, token) : null;
    if (!doc) return reply.code(401).send();
    if (req.method === 'GET') {
      // The pass served is current: a change the debounced worker has not applied yet is applied now.
      lastModified.set(req, (await wallet.passes.refresh(doc._id)).doc.updatedAt);
    }
  };

  // The library's log handler returns the reply without sending it, so the request never ends
  // (fixed in its express sibling, passkit-webservice-toolkit PR #3, not in fastify 1.4.4).
  const logHandler = async function (this: FastifyInstance, req: FastifyRequest, reply: FastifyReply) {
    const { logs } = req.body as { logs: string[] };
    this.log.warn({ logs: logs.slice(0, LOG_LINES_KEPT).map((l) => redactText(l.slice(0, LOG_LINE_KEPT))), lines: logs.length }, 'Wallet device log');
    return reply.code(200).send();
  };

  return async (app) => {
    app.addHook('onRoute', (route: RouteOptions) => {
      const prefix = (route as RouteOptions & { prefix?: string }).prefix ?? '';
      // Fastify adds a HEAD route for each GET route, from the options as they were before this hook.
      const method = route.method === 'HEAD' ? 'GET' : String(route.method);
      const key = `${method} ${route.url.slice(prefix.length)}`;
      const schema = SCHEMAS[key];
      if (!schema) return;
      route.schema = { tags: ['passkit'], ...schema };
      if (AUTHENTICATED.has(key)) route.preHandler = [authenticate, ...asArray(route.preHandler)];
      if (key === LOG_ROUTE) {
        route.handler = logHandler;
        // Unauthenticated: small, and a budget per address, counted before the body is read.
        route.bodyLimit = LOG_BODY_MAX;
        if (deps.logLimit) route.onRequest = [deps.logLimit, ...asArray(route.onRequest)];
      }
      route.onSend = asArray(route.onSend).map(
        (hook): onSendHookHandler =>
          async function (this: unknown, req, reply, payload) {
            return reply.statusCode >= 400 ? payload : (hook as (...a: unknown[]) => unknown).call(this, req, reply, payload);
          },
      );
    });
    app.addHook('onSend', async (req, reply, payload) => {
      const at = lastModified.get(req);
      if (at && reply.statusCode === 200) reply.header('last-modified', at.toUTCString());
      return payload;
    });

    await app.register(registrationPlugin, {
      onRegister: (deviceId, _passType, serialNumber, pushToken) => wallet.registry.register(deviceId, serialNumber, pushToken),
      onUnregister: async (deviceId, _passType, serialNumber) => {
        await wallet.registry.unregister(deviceId, serialNumber);
      },
    });
    await app.register(listPlugin, {
      onListRetrieve: async (deviceId: string, passTypeId: string, filters: { passesUpdatedSince?: string }) =>
        passTypeId === wallet.passTypeId ? ((await wallet.registry.updatedSince(deviceId, filters.passesUpdatedSince)) ?? undefined) : undefined,
    });
    await app.register(updatePlugin, {
      onUpdateRequest: async (_passType, serialNumber, modifiedSince) => {
        const doc = await wallet.passes.current(serialNumber);
        if (!doc) return undefined;
        // HTTP dates have whole seconds, and so has updatedAt: equal means the device has this state.
        if (modifiedSince !== undefined && !Number.isNaN(modifiedSince) && new Date(doc.updatedAt).getTime() <= modifiedSince) return undefined;
        return wallet.passes.file(doc);
      },
    });
    // Registered for its route; the handler is ours (logHandler, above).
    await app.register(logPlugin, { onIncomingLogs: () => undefined });
  };
}
