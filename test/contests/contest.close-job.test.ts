import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/logger.js';
import { startMaintenance } from '../../workers/maintenance/maintenance.jobs.js';
import { testCore, type TestCore } from '../helpers/core.js';
import { testQueues } from '../helpers/env.js';

/** The closing time published at creation is when the list is frozen: the worker's maintenance job seals it then, unasked. */

let t: TestCore;
beforeAll(async () => {
  t = await testCore();
});
afterAll(async () => {
  await t.close();
});

describe('the contest closing job', () => {
  it('seals every contest past its closing time, and none before', async () => {
    const due = await t.core.contests.create({ title: 'Due', prizes: 1, channels: ['telegram'], closesAt: new Date(t.clock.now().getTime() + 60_000) });
    const later = await t.core.contests.create({ title: 'Later', prizes: 1, channels: ['telegram'], closesAt: new Date(t.clock.now().getTime() + 3600_000) });
    t.clock.advance(61_000);
    const queues = testQueues();
    const maintenance = await startMaintenance({ core: t.core, queues, logger: createLogger('silent'), everyMs: { contests: 3_600_000 } });
    try {
      await maintenance.runNow('contests');
      await expect.poll(async () => (await t.core.contests.publicRecord(due.id)).entriesDigest, { timeout: 10_000 }).toMatch(/^[0-9a-f]{64}$/);
      const sealed = await t.core.contests.publicRecord(due.id);
      expect(sealed).toMatchObject({ status: 'closed', closedAt: sealed.closesAt, closeReason: null });
      expect((await t.core.contests.publicRecord(later.id)).entriesDigest).toBeNull();
    } finally {
      await maintenance.close();
      await queues.close();
    }
  });
});
