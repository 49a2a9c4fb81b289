/**
 * Layer rules, run by `npm test` (npm run lint). Adapters translate, core decides:
 *   core/     the domain; imports no adapter and no infrastructure.
 *   bots/, api/, workers/   adapters; they call core and never each other, except that the
 *             HTTP layer serves the bots' webhooks (api → bots). main.ts wires them together.
 *   infra/    servers, connections, queues, the runtime; used by adapters and main.ts.
 * Mongoose is imported only where documents are defined or queried (*.model.ts,
 * *.repository.ts), by the core factory that builds them from a connection, and by the
 * connection itself (infra/mongo.ts). No import cycles anywhere.
 */
module.exports = {
  forbidden: [
    {
      name: 'core-is-independent',
      comment: 'core/ imports nothing from the adapters, infra/, scripts/ or main.ts: they call core, never the reverse',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(bots|api|workers|infra|scripts)/|^main\\.ts$' },
    },
    {
      name: 'bots-not-api',
      comment: 'a chat channel does not reach into the HTTP layer (shared types live in core/ or infra/)',
      severity: 'error',
      from: { path: '^bots/' },
      to: { path: '^api/' },
    },
    {
      name: 'bots-not-workers',
      comment: 'bots/ hands its senders to the worker through main.ts, never by import',
      severity: 'error',
      from: { path: '^bots/' },
      to: { path: '^workers/' },
    },
    {
      name: 'workers-not-bots',
      comment: 'workers receive the channels as ports (infra/delivery.ts), they do not import them',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^bots/' },
    },
    {
      name: 'workers-not-api',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^api/' },
    },
    {
      name: 'panel-not-bots',
      comment: 'the staff panel (api/panel/) is an adapter over core: it serves no chat channel',
      severity: 'error',
      from: { path: '^api/panel/' },
      to: { path: '^bots/' },
    },
    {
      name: 'api-not-workers',
      severity: 'error',
      from: { path: '^api/' },
      to: { path: '^workers/' },
    },
    {
      name: 'mongoose-only-in-models-and-repositories',
      comment:
        'mongoose only in *.model.ts and *.repository.ts, the core factory (core/core.ts) and the connection (infra/mongo.ts).',
      severity: 'error',
      from: {
        path: '^(core|bots|api|workers|infra|scripts)/|^main\\.ts$',
        pathNot: ['\\.(model|repository)\\.ts$', '^core/core\\.ts$', '^infra/mongo\\.ts$'],
      },
      to: { path: '^node_modules/mongoose/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|data|\\.tools)/' },
  },
};
