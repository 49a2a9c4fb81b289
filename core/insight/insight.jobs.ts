/**
 * Long work the admin API starts and a worker finishes: an import, the audience pass. The
 * worker role provides it over BullMQ (workers/insight/insight.jobs.ts); without one (a test
 * app, a single small process) the API runs the work in its own process.
 */
export interface InsightJobs {
  enqueueImport(importId: string): Promise<void>;
  enqueueAudience(): Promise<void>;
}
