import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Core } from '../../core/core.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';
import { broadcastBody, broadcastCreated, broadcastList, broadcastListQuery, broadcastParams, broadcastPreview, broadcastReportView, broadcastView, previewQuery } from '../schemas/broadcast.schema.js';

/** Admin: broadcasts through Telegram, VK and Wallet (core/broadcasts); the worker role delivers them. */
export function broadcastRoutes(deps: { core: Core }): FastifyPluginAsyncZod {
  const broadcasts = deps.core.broadcasts;
  const base = { tags: ['admin'], security: ADMIN_SECURITY };
  return async (app) => {
    app.post(
      '/broadcasts',
      { schema: { ...base, summary: 'Create a broadcast (sent now, or at scheduledAt)', body: broadcastBody, response: { 201: broadcastCreated, ...errorResponses('segment_not_found') } } },
      async (req, reply) => reply.status(201).send(await broadcasts.create(req.body)),
    );
    app.post(
      '/broadcasts/preview',
      { schema: { ...base, summary: 'Recipients per channel and the message as each channel shows it; changes nothing', body: broadcastBody, querystring: previewQuery, response: { 200: broadcastPreview, ...errorResponses('segment_not_found') } } },
      async (req) => broadcasts.preview(req.body, req.query.lang),
    );
    app.get('/broadcasts', { schema: { ...base, summary: 'Broadcasts, newest first', querystring: broadcastListQuery, response: { 200: broadcastList, ...errorResponses() } } }, async (req) =>
      broadcasts.list({ limit: req.query.limit, before: req.query.before, kind: req.query.kind }),
    );
    app.get(
      '/broadcasts/:id',
      { schema: { ...base, summary: 'A broadcast: status and counts per channel', params: broadcastParams, response: { 200: broadcastView, ...errorResponses('broadcast_not_found') } } },
      async (req) => broadcasts.get(req.params.id),
    );
    app.post(
      '/broadcasts/:id/test',
      { schema: { ...base, summary: "Send it to the admins' own chats only (members with the admin role)", params: broadcastParams, response: { 201: broadcastCreated, ...errorResponses('broadcast_not_found') } } },
      async (req, reply) => reply.status(201).send(await broadcasts.test(req.params.id)),
    );
    for (const action of ['pause', 'resume', 'cancel'] as const) {
      app.post(
        `/broadcasts/:id/${action}`,
        { schema: { ...base, summary: `${action[0]?.toUpperCase() ?? ''}${action.slice(1)} a broadcast`, params: broadcastParams, response: { 200: broadcastView, ...errorResponses('broadcast_not_found', 'broadcast_state') } } },
        async (req) => broadcasts[action](req.params.id),
      );
    }
    app.get(
      '/broadcasts/:id/report',
      {
        schema: {
          ...base,
          summary: 'Purchases within 7 days of the broadcast: recipients against the holdout',
          params: broadcastParams,
          response: { 200: broadcastReportView, ...errorResponses('broadcast_not_found') },
        },
      },
      async (req) => deps.core.insight.reports.broadcast(await broadcasts.reportInput(req.params.id)),
    );
  };
}
