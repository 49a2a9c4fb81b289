import type { TestProject } from 'vitest/node';
import { provideMongo, provideRedis } from '../../infra/servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUrl: string;
    mongoSource: string;
    redisUrl: string;
  }
}

/**
 * Starts FerretDB and redis-server once per run on free loopback ports (or uses MONGODB_URL /
 * REDIS_URL when set). Each test file then takes its own database name and queue prefix.
 * The servers are guarded children: if this run crashes they stop with it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [mongo, redis] = await Promise.all([
    provideMongo({ url: process.env.MONGODB_URL, ferretdbBin: process.env.FERRETDB_BIN, storage: { kind: 'temp' } }),
    provideRedis({ url: process.env.REDIS_URL, storage: { kind: 'temp' } }),
  ]);
  project.provide('mongoUrl', mongo.url);
  project.provide('mongoSource', mongo.source);
  project.provide('redisUrl', redis.url);
  console.log(`[test] MongoDB: ${mongo.source} ${mongo.url}  Redis: ${redis.source} ${redis.url}`);
  return async () => {
    await Promise.all([mongo.stop(), redis.stop()]);
  };
}
