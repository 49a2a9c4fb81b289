import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * BullMQ queues and workers on ioredis with the settings BullMQ asks for in production:
 * workers block on Redis, so their connection needs `maxRetriesPerRequest: null`; producers
 * keep a bounded retry so an HTTP request fails fast when Redis is down. Every key lives
 * under a configurable prefix (one per test file, one per deployment).
 */
export interface QueueFactory {
  readonly prefix: string;
  queue<T = unknown>(name: string, defaultJobOptions?: JobsOptions): Queue<T>;
  worker<T = unknown, R = unknown>(name: string, processor: Processor<T, R>, opts?: Partial<WorkerOptions>): Worker<T, R>;
  /** Stops workers (letting running jobs finish), then closes queues and connections. */
  close(): Promise<void>;
}

export function createQueueFactory(redisUrl: string, prefix: string): QueueFactory {
  const producer = new Redis(redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  const queues = new Map<string, Queue>();
  const workers: Worker[] = [];
  const workerConnections: Redis[] = [];
  return {
    prefix,
    queue<T>(name: string, defaultJobOptions?: JobsOptions): Queue<T> {
      let q = queues.get(name);
      if (!q) {
        q = new Queue(name, {
          connection: producer,
          prefix,
          defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000, ...defaultJobOptions },
        });
        queues.set(name, q);
      }
      return q as unknown as Queue<T>;
    },
    worker<T, R>(name: string, processor: Processor<T, R>, opts: Partial<WorkerOptions> = {}): Worker<T, R> {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      workerConnections.push(connection);
      const w = new Worker<T, R>(name, processor, { concurrency: 4, ...opts, connection, prefix });
      workers.push(w);
      return w;
    },
    async close() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
      for (const c of workerConnections) c.disconnect();
      producer.disconnect();
    },
  };
}
