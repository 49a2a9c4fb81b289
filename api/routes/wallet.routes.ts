import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DomainError } from '../../core/shared/errors.js';
import { PKPASS_TYPE, type Wallet } from '../../core/wallet/wallet.service.js';

/**
 * Public pass downloads: `GET /wallet/<signed token>.pkpass`, the link the bot's "My card" and
 * the admin API hand out. No credentials: the HMAC in the token is the credential, so a card
 * number alone opens nothing; a forged, malformed or stale link is 404.
 */
export function walletRoutes(deps: { wallet: Wallet }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/wallet/:file',
      {
        schema: {
          tags: ['wallet'],
          summary: 'Download an Apple Wallet pass (application/vnd.apple.pkpass) by its signed link',
          description: '200 with the .pkpass file; 404 `not_found` for a forged or malformed link or a card that is not active.',
          params: z.strictObject({ file: z.string().max(200).describe('<token>.pkpass, as in the link') }),
        },
      },
      async (req, reply) => {
        const token = /^([A-Za-z0-9_.-]+)\.pkpass$/.exec(req.params.file)?.[1];
        if (!token) throw new DomainError('not_found', 'no such pass');
        const pass = await deps.wallet.openLink(token);
        return reply
          .header('content-type', PKPASS_TYPE)
          .header('content-disposition', `attachment; filename="${pass.filename}"`)
          .header('last-modified', pass.updatedAt.toUTCString())
          // The pass carries its holder's authentication token: no shared cache may keep it.
          .header('cache-control', 'private, no-store')
          .send(pass.bytes);
      },
    );
  };
}
