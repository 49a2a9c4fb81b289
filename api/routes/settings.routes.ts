import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Core } from '../../core/core.js';
import { DomainError } from '../../core/shared/errors.js';
import { ifMatchHeaders, settingsPatch, settingsView } from '../schemas/admin.schema.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';

/** `If-Match: 3`, `"3"` or `W/"3"` → 3; absent → undefined. */
function expectedVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!m?.[1]) throw new DomainError('validation_failed', 'If-Match must be a settings version, e.g. "3"');
  return Number(m[1]);
}

/** Admin: the programme settings, versioned; the ETag is the version. */
export function settingsRoutes(deps: { core: Core }): FastifyPluginAsyncZod {
  const { core } = deps;
  return async (app) => {
    app.get(
      '/settings',
      { schema: { tags: ['admin'], summary: 'The current programme settings', security: ADMIN_SECURITY, response: { 200: settingsView, ...errorResponses() } } },
      async (_req, reply) => {
        const s = await core.settings.current();
        return reply.header('etag', `"${s.version}"`).send(s);
      },
    );

    app.patch(
      '/settings',
      {
        schema: {
          tags: ['admin'],
          summary: 'Edit the programme settings (writes the next version)',
          description:
            'Each top-level key given replaces its whole value; the result is validated as a whole. With `If-Match: <version>` the edit ' +
            'applies only if that is still the current version (else 409 concurrent_update).',
          security: ADMIN_SECURITY,
          headers: ifMatchHeaders,
          body: settingsPatch,
          response: { 200: settingsView, ...errorResponses('concurrent_update') },
        },
      },
      async (req, reply) => {
        const s = await core.settings.update(req.body, expectedVersion(req.headers['if-match']));
        return reply.header('etag', `"${s.version}"`).send(s);
      },
    );
  };
}
