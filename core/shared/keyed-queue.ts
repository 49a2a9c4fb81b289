import { DomainError } from './errors.js';

/**
 * Runs functions one at a time per key (a card), in arrival order, within a deadline. Work on
 * one card is serialized inside a process, so requests of one process never race each other
 * for the same card; what waits too long gives up before doing anything (`card_busy`).
 */
export function createKeyedQueue() {
  const tails = new Map<string, Promise<void>>();
  return {
    /**
     * `fn` gets `waited` (false when the key was free, so a read made just before is still
     * fresh) and `followed()` (whether others queued behind it meanwhile).
     */
    async run<T>(key: string, deadline: number, fn: (waited: boolean, followed: () => boolean) => Promise<T>): Promise<T> {
      const prev = tails.get(key);
      let release!: () => void;
      const mine = new Promise<void>((resolve) => {
        release = resolve;
      });
      const tail = prev ? prev.then(() => mine) : mine;
      tails.set(key, tail);
      try {
        if (prev && !(await turnBefore(prev, deadline))) {
          throw new DomainError('card_busy', 'the card is busy with other operations; nothing was done, retry', { retryAfterMs: 1000 });
        }
        return await fn(prev !== undefined, () => tails.get(key) !== tail);
      } finally {
        release();
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
    /** Keys with work queued or running (tests and diagnostics). */
    size(): number {
      return tails.size;
    },
  };
}

async function turnBefore(prev: Promise<void>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([prev.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
