#!/usr/bin/env node
// Runs before `npm start` and `npm test` (npm's pre-scripts), in plain Node so that it works
// on a fresh clone: installs node_modules when missing and FerretDB when absent, saying so.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installFerretdb } from './install-ferretdb.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.log('[setup] node_modules missing: running npm ci…');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

// FerretDB is needed only when no MongoDB is configured.
if (!process.env.MONGODB_URL && !process.env.FERRETDB_BIN) {
  const r = installFerretdb();
  if (!r.path) {
    console.log(`[setup] FerretDB not installed (${r.reason}); will look for ferretdb on PATH or mongodb-memory-server`);
  }
}
