#!/usr/bin/env node
// Runs before `npm start` and `npm test` (npm's pre-scripts), in plain Node so that it works
// on a fresh clone: installs node_modules when missing, FerretDB and redis-server when absent,
// saying so.
import { accessSync, constants, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installChromium } from './install-chromium.mjs';
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

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

// redis-server is needed only when no Redis is configured: the embedded one is started from PATH.
if (!process.env.REDIS_URL && !onPath('redis-server')) {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (asRoot && onPath('apt-get')) {
    console.log('[setup] redis-server missing: installing it (apt-get update; apt-get install -y redis-server)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env });
      console.log(`[setup] redis-server installed: ${onPath('redis-server') ?? '(not on PATH?)'}`);
    } catch (err) {
      console.log(`[setup] installing redis-server failed (${err.message}); run: apt-get install -y redis-server, or set REDIS_URL`);
    }
  } else {
    console.log('[setup] redis-server is not installed: run `sudo apt-get install -y redis-server` (Debian/Ubuntu), or set REDIS_URL to a running Redis');
  }
}

// Chromium is needed by the web panel's browser tests only (npm test), not by `npm start`.
if (process.env.npm_lifecycle_event === 'pretest') {
  const r = installChromium();
  if (!r.path) console.log(`[setup] ${r.reason}; the panel's browser tests will fail without it`);
}
