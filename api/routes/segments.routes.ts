import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Core } from '../../core/core.js';
import type { InsightJobs } from '../../core/insight/insight.jobs.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';
import { audienceQueued, countView, idParams, membersPage, membersQuery, rulesBody, segmentBody, segmentList, segmentView, segmentWithCount } from '../schemas/insight.schema.js';

/** Admin: saved segments (AND/OR rules), live counts, members page by page, the audience pass. */
export function segmentRoutes(deps: { core: Core; jobs?: InsightJobs | undefined }): FastifyPluginAsyncZod {
  const segments = deps.core.insight.segments;
  const base = { tags: ['admin'], security: ADMIN_SECURITY };
  return async (app) => {
    app.post('/segments', { schema: { ...base, summary: 'Save a segment', body: segmentBody, response: { 201: segmentView, ...errorResponses() } } }, async (req, reply) =>
      reply.status(201).send(await segments.create(req.body)),
    );
    app.get('/segments', { schema: { ...base, summary: 'Saved segments', response: { 200: segmentList, ...errorResponses() } } }, async () => ({ items: await segments.list() }));
    app.post(
      '/segments/count',
      { schema: { ...base, summary: 'How many members rules match (while editing them), as of the last audience pass', body: rulesBody, response: { 200: countView, ...errorResponses() } } },
      async (req) => segments.count(req.body.rules),
    );
    app.post(
      '/segments/rebuild',
      {
        schema: { ...base, summary: 'Recompute RFM and the audience now (also runs nightly)', response: { 202: audienceQueued, ...errorResponses() } },
      },
      async (req, reply) => {
        if (deps.jobs) await deps.jobs.enqueueAudience();
        else {
          void segments.rebuild().catch((err: unknown) => {
            req.log.error({ err }, 'audience pass failed');
          });
        }
        return reply.status(202).send({ queued: true });
      },
    );
    app.get(
      '/segments/:id',
      { schema: { ...base, summary: 'A segment with its live count', params: idParams, response: { 200: segmentWithCount, ...errorResponses('segment_not_found') } } },
      async (req) => ({ ...(await segments.get(req.params.id)), ...(await segments.countSegment(req.params.id)) }),
    );
    app.put(
      '/segments/:id',
      { schema: { ...base, summary: 'Replace a segment', params: idParams, body: segmentBody, response: { 200: segmentView, ...errorResponses('segment_not_found') } } },
      async (req) => segments.update(req.params.id, req.body),
    );
    app.delete(
      '/segments/:id',
      { schema: { ...base, summary: 'Delete a segment', params: idParams, response: { 204: z.null().describe('Deleted'), ...errorResponses('segment_not_found') } } },
      async (req, reply) => {
        await segments.remove(req.params.id);
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/segments/:id/members',
      { schema: { ...base, summary: 'Members of a segment, a page at a time', params: idParams, querystring: membersQuery, response: { 200: membersPage, ...errorResponses('segment_not_found') } } },
      async (req) => segments.members(req.params.id, { after: req.query.after, limit: req.query.limit }),
    );
  };
}
