import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

export interface MainRun {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  code: number | null;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Runs the real entry point (`node --import tsx main.ts`) with a clean environment: no
 * inherited MONGODB_URL/REDIS_URL unless given, a temp DATA_DIR, PORT 0.
 * `until: 'ready'` resolves on the start-up summary, `until: 'exit'` when the process ends.
 */
export async function runMain(
  env: Record<string, string>,
  opts: { until: 'ready' | 'exit'; timeoutMs: number; args?: string[] },
): Promise<MainRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'loyalty-main-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts', ...(opts.args ?? [])], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: MainRun = {
    child,
    stdout: '',
    stderr: '',
    code: null,
    exited: new Promise((r) =>
      child.once('exit', (code) => {
        run.code = code;
        r(code);
      }),
    ),
  };
  child.stdout.on('data', (c: Buffer) => (run.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (run.stderr += c.toString()));
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (run.code !== null || child.signalCode) return run;
    if (opts.until === 'ready' && /Ready in \d+ ms/.test(run.stdout)) return run;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`main did not reach "${opts.until}" within ${opts.timeoutMs} ms\nstdout:${run.stdout}\nstderr:${run.stderr}`);
}

/** The HTTP URL printed in the start-up summary. */
export function listeningUrl(stdout: string): string {
  const m = /HTTP: listening on (http:\/\/[^\s]+)/.exec(stdout);
  if (!m?.[1]) throw new Error(`no listening URL in:\n${stdout}`);
  return m[1];
}

/** Pids of processes whose command line mentions `needle` (e.g. a temp data folder). */
export async function pidsMentioning(needle: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (cmd.includes(needle) && Number(entry) !== process.pid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The exit code, when the process exits within `ms`; the test fails otherwise (a bounded wait, not a clock assert). */
export async function exitWithin(run: MainRun, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the process did not exit within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([run.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}
