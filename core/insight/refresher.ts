/**
 * When a derived figure is recomputed on the read path. A refresh that took less than
 * `liveUnderMs` the last time is awaited by the read (a small shop reads live figures); a longer
 * one (a large base on the embedded store, where every filter is a collection scan) runs in the
 * background, one at a time per process, once the figures are older than `staleAfterMs`, and
 * the read gets the figures as they are, with their date. The worker also refreshes them on a
 * schedule, so a large shop's figures are never older than that schedule plus one refresh.
 */
export function createRefresher<M extends { at: Date; tookMs: number }>(opts: {
  run(): Promise<void>;
  /** When the figures were last computed and how long that took; null before the first time. */
  last(): Promise<M | null>;
  liveUnderMs: number;
  staleAfterMs: number;
  now(): Date;
  onBackgroundError(err: unknown): void;
}) {
  let running: Promise<void> | null = null;
  const start = (): Promise<void> =>
    (running ??= opts.run().finally(() => {
      running = null;
    }));
  return {
    /**
     * Makes the figures as fresh as their cost allows (see above). Returns what `last()` said when
     * the read does not wait for a run (the caller need not read it again), null when it waited.
     */
    async fresh(): Promise<M | null> {
      const last = await opts.last();
      if (!last || last.tookMs < opts.liveUnderMs) {
        await start();
        return null;
      }
      if (opts.now().getTime() - last.at.getTime() > opts.staleAfterMs) start().catch(opts.onBackgroundError);
      return last;
    },
    /** Recomputes now (the worker's schedule, tests). */
    now: start,
  };
}
