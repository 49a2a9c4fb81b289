import type { Logger } from './logger.js';

/**
 * Ordered, bounded, re-entrant shutdown. Closers run in reverse order of registration
 * (intake first: HTTP and bots were registered last), each awaited; the whole run is bounded
 * so the process always exits within the timeout.
 */
export interface Shutdown {
  add(name: string, close: () => Promise<void> | void): void;
  run(reason: string, exitCode?: number): Promise<number>;
  /** SIGINT/SIGTERM → run() → process.exit. A second signal during shutdown is ignored. */
  installSignalHandlers(): void;
  readonly started: boolean;
}

export function createShutdown(logger: Logger, timeoutMs: number, exit: (code: number) => void = (c) => process.exit(c)): Shutdown {
  const closers: { name: string; close: () => Promise<void> | void }[] = [];
  let running: Promise<number> | undefined;
  const self: Shutdown = {
    get started() {
      return running !== undefined;
    },
    add(name, close) {
      closers.push({ name, close });
    },
    run(reason, exitCode = 0) {
      running ??= (async () => {
        logger.info({ reason }, 'shutting down');
        let code = exitCode;
        const all = (async () => {
          for (const { name, close } of [...closers].reverse()) {
            try {
              await close();
            } catch (err) {
              logger.error({ err, closer: name }, 'error while closing');
              code = code || 1;
            }
          }
        })();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          all.then(() => false),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(true), timeoutMs);
            timer.unref();
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          logger.error({ timeoutMs }, 'shutdown timed out');
          code = 1;
        }
        return code;
      })();
      return running;
    },
    installSignalHandlers() {
      const onSignal = (signal: NodeJS.Signals): void => {
        if (running) return;
        void self.run(signal).then((code) => exit(code));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    },
  };
  return self;
}
