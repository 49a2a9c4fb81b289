#!/usr/bin/env node
// The panel's browser tests drive Debian's chromium (/usr/bin/chromium) through playwright-core.
// Called by `npm test`'s bootstrap and by .ci/run like the redis-server install: when the browser
// is missing and we are root on a machine with apt-get, install it; otherwise say how.
import { accessSync, constants, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

function hasAptGet() {
  try {
    accessSync('/usr/bin/apt-get', constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Installs chromium when absent; returns { path } or { path: null, reason }. */
export function installChromium() {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM };
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!asRoot || !hasAptGet()) {
    return { path: null, reason: `${CHROMIUM} is missing: run \`sudo apt-get install -y chromium\` (Debian/Ubuntu) or set CHROMIUM_BIN` };
  }
  console.log('[setup] chromium missing: installing it (apt-get update; apt-get install -y chromium)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
  } catch (err) {
    return { path: null, reason: `installing chromium failed (${err.message})` };
  }
  return existsSync(CHROMIUM) ? { path: CHROMIUM } : { path: null, reason: `apt-get installed chromium but ${CHROMIUM} is absent` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = installChromium();
  console.log(r.path ? `[setup] chromium: ${r.path}` : `[setup] ${r.reason}`);
}
