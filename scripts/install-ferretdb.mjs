#!/usr/bin/env node
// Builds FerretDB v1 (MongoDB wire protocol over SQLite) into .tools/bin for tests and the
// embedded `npm start`. Plain Node, no dependencies: it runs before `npm ci` may have.
//
// Why not a bare `go install …/cmd/ferretdb@v1.24.2`: a binary built that way panics at start
// ("Invalid build/version/version.txt") because the module zip lacks the generated version
// file. So we fetch the module through the Go module proxy, copy it, write that file and
// `go build` it from inside the module.
//
// Right after it we build infra/ferretdb-index (our own small Go program, see its main.go):
// it adds the `_id` index FerretDB's SQLite backend needs but never creates, and the wire proxy
// (infra/wire-proxy.ts) runs it. It is also built on its own when only it is missing.
import { execFileSync } from 'node:child_process';
import { cpSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FERRETDB_VERSION = 'v1.24.2';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ferretdbTarget = join(root, '.tools', 'bin', 'ferretdb');
export const indexerTarget = join(root, '.tools', 'bin', 'ferretdb-index');
const indexerSource = join(root, 'infra', 'ferretdb-index');

// Offline-friendly: modules come from the module cache (or the Go module proxy), never a VCS;
// no toolchain download; no telemetry.
const goEnv = () => ({ ...process.env, DO_NOT_TRACK: '1', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' });

function hasGo() {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function chmodTree(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
    if (st.isDirectory()) chmodTree(p);
  }
}

/** Builds .tools/bin/ferretdb-index from infra/ferretdb-index (a few seconds once modules are cached). */
export function installIndexer({ force = false } = {}) {
  if (existsSync(indexerTarget) && !force) {
    return { installed: false, path: indexerTarget, reason: 'already there' };
  }
  if (!hasGo()) {
    return { installed: false, path: null, reason: 'Go is not installed' };
  }
  console.log('[setup] building ferretdb-index into .tools/bin…');
  mkdirSync(dirname(indexerTarget), { recursive: true });
  execFileSync('go', ['build', '-trimpath', '-buildvcs=false', '-o', indexerTarget, '.'], {
    cwd: indexerSource,
    env: goEnv(),
    stdio: 'inherit',
  });
  console.log(`[setup] ferretdb-index installed at ${indexerTarget}`);
  return { installed: true, path: indexerTarget, reason: 'built' };
}

export function installFerretdb({ force = false } = {}) {
  if (existsSync(ferretdbTarget) && !force) {
    // FerretDB is there; the indexer may still be missing (a checkout from before it existed).
    installIndexerOrSay(force);
    return { installed: false, path: ferretdbTarget, reason: 'already there' };
  }
  if (!hasGo()) {
    return { installed: false, path: null, reason: 'Go is not installed' };
  }
  console.log(`[setup] building FerretDB ${FERRETDB_VERSION} into .tools/bin (about a minute the first time)…`);
  const env = goEnv();
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', `github.com/FerretDB/FerretDB@${FERRETDB_VERSION}`], { env, encoding: 'utf8' }),
  );
  const work = mkdtempSync(join(tmpdir(), 'ferretdb-src-'));
  try {
    const src = join(work, 'src');
    cpSync(info.Dir, src, { recursive: true });
    chmodTree(src);
    writeFileSync(join(src, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    mkdirSync(dirname(ferretdbTarget), { recursive: true });
    execFileSync('go', ['build', '-trimpath', '-buildvcs=false', '-o', ferretdbTarget, './cmd/ferretdb'], {
      cwd: src,
      env,
      stdio: 'inherit',
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`[setup] FerretDB installed at ${ferretdbTarget}`);
  installIndexerOrSay(force);
  return { installed: true, path: ferretdbTarget, reason: 'built' };
}

// FerretDB works without the indexer (only slower by `_id`), so a failed build is reported,
// not fatal.
function installIndexerOrSay(force) {
  try {
    const r = installIndexer({ force });
    if (!r.path) console.log(`[setup] ferretdb-index not built: ${r.reason}`);
  } catch (err) {
    console.log(`[setup] ferretdb-index not built (FerretDB will scan tables for _id lookups): ${err.message}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = installFerretdb({ force: process.argv.includes('--force') });
  if (!r.installed && !r.path) {
    console.error(`[setup] FerretDB not installed: ${r.reason}`);
    process.exit(1);
  }
  if (!r.installed) console.log(`[setup] FerretDB: ${r.reason} (${r.path})`);
}
