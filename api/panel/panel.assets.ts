import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);
// Spelled out per package so the dependency checker (knip) sees them used.
const HTMX_DIR = dirname(require.resolve('htmx.org/package.json'));
const UPLOT_DIR = dirname(require.resolve('uplot/package.json'));

/** Every file the pages load, served by the app itself (no CDN: shops run offline too). */
const ASSETS: Record<string, { path: string; type: string }> = {
  'htmx.min.js': { path: join(HTMX_DIR, 'dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.iife.min.js': { path: join(UPLOT_DIR, 'dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: join(UPLOT_DIR, 'dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
  'panel.css': { path: join(import.meta.dirname, 'assets/panel.css'), type: 'text/css; charset=utf-8' },
  'panel.js': { path: join(import.meta.dirname, 'assets/panel.js'), type: 'text/javascript; charset=utf-8' },
};

export function registerAssets(app: FastifyInstance): void {
  // Read once at start-up: a missing file fails the start, not a page view.
  const files = new Map(Object.entries(ASSETS).map(([name, a]) => [name, { body: readFileSync(a.path), type: a.type }]));
  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const f = files.get(req.params.name);
    if (!f) return reply.code(404).type('text/plain').send('not found');
    return reply.type(f.type).header('cache-control', 'public, max-age=3600').send(f.body);
  });
}
