import type { onRequestAsyncHookHandler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ContestService } from '../../core/contests/contest.service.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';
import {
  adminContestList,
  adminContestView,
  closeContestBody,
  contestIdParams,
  contestListQuery,
  entryListQuery,
  createContestBody,
  createdContest,
  drawResult,
  publicContestRecord,
  publicEntryList,
} from '../schemas/contests.schema.js';

export interface ContestRoutesDeps {
  contests: ContestService;
  /** Public routes only: a budget per client address (the entry list is the heavy one), counted before anything is read. */
  publicLimit?: onRequestAsyncHookHandler;
}

const date = (s: string | null | undefined): Date | null | undefined => (s === undefined ? undefined : s === null ? null : new Date(s));

/** Public, no authentication: the record and the entry list anyone can verify the draw with, rate-limited per address. */
export function contestPublicRoutes(deps: ContestRoutesDeps): FastifyPluginAsyncZod {
  const { contests } = deps;
  const limited = deps.publicLimit ? { onRequest: deps.publicLimit } : {};
  return async (app) => {
    app.get(
      '/contests/:id',
      {
        ...limited,
        schema: {
          tags: ['contests'],
          summary: 'A contest as published: commitment, entries digest, then seed and winners after the draw',
          params: contestIdParams,
          response: { 200: publicContestRecord, ...errorResponses('contest_not_found', 'rate_limited') },
        },
      },
      async (req) => contests.publicRecord(req.params.id),
    );

    app.get(
      '/contests/:id/entries',
      {
        ...limited,
        schema: {
          tags: ['contests'],
          summary: 'The entries (masked card numbers) sorted by id, a page at a time: the frozen list once the contest closed',
          params: contestIdParams,
          querystring: entryListQuery,
          response: { 200: publicEntryList, ...errorResponses('contest_not_found', 'rate_limited') },
        },
      },
      async (req) => contests.publicEntries(req.params.id, { cursor: req.query.cursor, limit: req.query.limit }),
    );
  };
}

/**
 * Admin (Bearer admin token): create, list, watch, close, draw, export. Authentication is
 * the scope's: register this where `authenticateAdmin` runs, or through contestRoutes.
 */
export function contestAdminRoutes(deps: ContestRoutesDeps): FastifyPluginAsyncZod {
  const { contests } = deps;
  const base = { tags: ['admin'], security: ADMIN_SECURITY };
  return async (app) => {
    app.post(
      '/contests',
      {
        schema: {
          ...base,
          summary: 'Create a contest; the answer carries the commitment to its secret seed',
          body: createContestBody,
          response: { 201: createdContest, ...errorResponses() },
        },
      },
      async (req, reply) => {
        const b = req.body;
        const created = await contests.create({
          title: b.title,
          prizes: b.prizes,
          channels: b.channels,
          closesAt: new Date(b.closesAt),
          ...(b.description !== undefined ? { description: b.description } : {}),
          ...(b.opensAt !== undefined ? { opensAt: new Date(b.opensAt) } : {}),
          ...(b.minLevel !== undefined ? { minLevel: b.minLevel } : {}),
          ...(b.joinedBefore !== undefined ? { joinedBefore: date(b.joinedBefore) ?? null } : {}),
        });
        return reply.code(201).send(created);
      },
    );

    app.get(
      '/contests',
      { schema: { ...base, summary: 'Contests, newest first', querystring: contestListQuery, response: { 200: adminContestList, ...errorResponses() } } },
      async (req) => ({
        items: await contests.list({ ...(req.query.open === 'true' ? { open: true } : {}), ...(req.query.channel ? { channel: req.query.channel } : {}) }),
      }),
    );

    app.get(
      '/contests/:id',
      {
        schema: { ...base, summary: 'A contest with its live entry count', params: contestIdParams, response: { 200: adminContestView, ...errorResponses('contest_not_found') } },
      },
      async (req) => contests.get(req.params.id),
    );

    app.post(
      '/contests/:id/close',
      {
        schema: {
          ...base,
          summary: 'Stop entries and publish the digest of the entry list (repeating it changes nothing)',
          description: 'A contest closes by itself at closesAt, fixed at creation. Closing it before then needs a reason, published with the record.',
          params: contestIdParams,
          body: closeContestBody,
          response: { 200: adminContestView, ...errorResponses('contest_not_found') },
        },
      },
      async (req) => contests.close(req.params.id, req.body?.reason),
    );

    app.post(
      '/contests/:id/draw',
      {
        schema: {
          ...base,
          summary: 'After the closing time (or an early close): seal if needed, reveal the seed and draw the winners (repeating it answers the same winners)',
          params: contestIdParams,
          response: { 200: drawResult, ...errorResponses('contest_not_found', 'contest_still_open') },
        },
      },
      async (req) => contests.draw(req.params.id),
    );

    app.get(
      '/contests/:id/entries.csv',
      {
        schema: {
          ...base,
          summary: 'Entries as CSV (text/csv): entry_id, masked, card, channel, account, member_id, entered_at, in_draw, place',
          params: contestIdParams,
          // Sent as text/csv, so fastify does not JSON-serialize it; the schema only types and documents it.
          response: { 200: z.string().describe('CSV, UTF-8, CRLF line ends, a header row first'), ...errorResponses('contest_not_found') },
        },
      },
      async (req, reply) => {
        const csv = await contests.entriesCsv(req.params.id);
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="contest-${req.params.id.replace(/[^\w-]/g, '')}-entries.csv"`)
          .send(csv);
      },
    );
  };
}
