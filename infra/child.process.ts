import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

/**
 * A POSIX sh wrapper that runs "$@" and stops it when its stdin closes. Node keeps the write
 * end of that pipe, so when our process dies for any reason (Ctrl-C, crash, SIGKILL of a test
 * run) the pipe closes and the server stops: no orphan ferretdb or redis-server.
 * Background lists get /dev/null as stdin in sh, hence fd 3.
 */
const GUARD = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'child=$!',
  "trap 'kill -TERM \"$child\" 2>/dev/null' TERM INT HUP",
  '( while read -r _; do :; done; kill -TERM "$child" 2>/dev/null ) <&3 &',
  'watcher=$!',
  'status=0',
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

export interface GuardedChild {
  readonly name: string;
  readonly process: ChildProcess;
  /** Last lines the program wrote to stderr/stdout, for error messages. */
  output(): string;
  stop(timeoutMs?: number): Promise<void>;
}

export function spawnGuarded(name: string, bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): GuardedChild {
  const child = spawn('sh', ['-c', GUARD, name, bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // The pipe must not keep our event loop alive, nor crash us when the wrapper is gone.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    name,
    process: child,
    output: () => tail.trim(),
    stop(timeoutMs = 5000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Resolves when the port accepts connections; rejects when the child exits or time runs out. */
export async function waitForPort(child: GuardedChild, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) {
      throw new Error(`${child.name} exited with code ${child.process.exitCode}: ${child.output() || '(no output)'}`);
    }
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  await child.stop();
  throw new Error(`${child.name} did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms: ${child.output()}`);
}
