import type { EventSink } from '../../core/events/event.types.js';
import type { Outbox } from '../../core/events/outbox.repository.js';
import type { Logger } from '../../infra/logger.js';

/**
 * Drains the outbox (events that are not ledger movements) into BullMQ: each event becomes a job whose id is the event id, so a
 * relay that crashed after adding but before marking published adds nothing new next time.
 * Polls quickly while there is work and backs off to `idleMs` when there is none.
 */
export function startOutboxRelay(deps: { outbox: Outbox; sink: EventSink; logger: Logger; busyMs?: number; idleMs?: number }) {
  const busyMs = deps.busyMs ?? 100;
  const idleMs = deps.idleMs ?? 1000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let wake: (() => void) | undefined;

  const loop = async (): Promise<void> => {
    let delay = busyMs;
    while (!stopped) {
      try {
        const n = await deps.outbox.relayOnce((events) => deps.sink.publish(events));
        delay = n > 0 ? busyMs : Math.min(idleMs, delay * 2);
      } catch (err) {
        deps.logger.error({ err }, 'outbox relay pass failed');
        delay = idleMs;
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, delay);
      });
    }
  };
  running = loop();

  return {
    /** Runs a pass soon (e.g. right after this process applied a movement). */
    nudge(): void {
      clearTimeout(timer);
      wake?.();
    },
    async close(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await running;
    },
  };
}
