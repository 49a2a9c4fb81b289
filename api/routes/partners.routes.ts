import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PartnerService, PartnerView } from '../../core/partners/partner.service.js';
import { ADMIN_SECURITY, errorResponses } from '../schemas/common.schema.js';
import { createdPartner, partnerBody, partnerIdParams, partnerList, partnerView } from '../schemas/partner.schema.js';

const present = (p: PartnerView) => ({ ...p, createdAt: p.createdAt.toISOString(), updatedAt: p.updatedAt.toISOString() });

/** Admin: partners (brands of an umbrella programme) and their terms. Each route calls core.partners. */
export function partnerRoutes(deps: { partners: PartnerService }): FastifyPluginAsyncZod {
  const { partners } = deps;
  const base = { tags: ['admin'], security: ADMIN_SECURITY };
  return async (app) => {
    app.post(
      '/partners',
      { schema: { ...base, summary: 'Create a partner with its own accrual percent (by level) and redemption cap', body: partnerBody, response: { 201: createdPartner, ...errorResponses() } } },
      async (req, reply) => reply.code(201).send({ id: (await partners.create(req.body)).id }),
    );
    app.get('/partners', { schema: { ...base, summary: 'List partners', response: { 200: partnerList, ...errorResponses() } } }, async () => ({ items: (await partners.list()).map(present) }));
    app.get(
      '/partners/:id',
      { schema: { ...base, summary: 'One partner', params: partnerIdParams, response: { 200: partnerView, ...errorResponses('partner_not_found') } } },
      async (req) => present(await partners.get(req.params.id)),
    );
    app.put(
      '/partners/:id',
      {
        schema: {
          ...base,
          summary: 'Replace a partner’s name and terms (a term left out falls back to the programme’s)',
          description: 'New purchases run on the new terms at once in this process and within seconds in others; recorded purchases and their refunds keep the terms they were made with. Every pass is refreshed.',
          params: partnerIdParams,
          body: partnerBody,
          response: { 200: partnerView, ...errorResponses('partner_not_found') },
        },
      },
      async (req) => present(await partners.update(req.params.id, req.body)),
    );
    app.delete(
      '/partners/:id',
      {
        schema: {
          ...base,
          summary: 'Delete a partner that no store belongs to',
          description: 'A partner that stores still belong to answers 409 partner_in_use (details.stores: how many).',
          params: partnerIdParams,
          response: { 204: z.null().describe('Deleted'), ...errorResponses('partner_not_found', 'partner_in_use') },
        },
      },
      async (req, reply) => {
        await partners.remove(req.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
