import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDailyStatsRepository } from '../../core/insight/daily-stats.repository.js';
import { createDailyStats } from '../../core/insight/daily-stats.service.js';
import { createInsightConsumer } from '../../core/insight/insight.consumer.js';
import { createMemberStatsMirror } from '../../core/insight/member-stats.mirror.js';
import { createMemberStatsRepository } from '../../core/insight/member-stats.repository.js';
import { memberModels } from '../../core/members/member.model.js';
import { fixedClock } from '../helpers/clock.js';
import type { Connection } from '../../infra/mongo.js';
import { testMongo } from '../helpers/env.js';
import { pointsEvent } from './insight.fixture.js';

const TZ = 'Europe/Moscow';
let conn: Connection;
let consumer: ReturnType<typeof createInsightConsumer>;
let daily: ReturnType<typeof createDailyStats>;
const memberId = new Types.ObjectId();

beforeAll(async () => {
  conn = await testMongo();
  const clock = fixedClock(new Date('2026-03-10T12:00:00Z'));
  daily = createDailyStats({ repo: createDailyStatsRepository(conn), timeZone: TZ, clock });
  await daily.init();
  // The store's own write form: guarded filter on MongoDB, read-compare-write by _id on FerretDB.
  const members = createMemberStatsRepository(conn, { guarded: inject('mongoSource') !== 'ferretdb' });
  consumer = createInsightConsumer({ members, mirror: createMemberStatsMirror(members), daily, timeZone: TZ });
  await memberModels(conn).Members.collection.insertOne({ _id: memberId, phone: '+79990000001', name: 'A', registeredAt: new Date('2026-01-15T10:00:00Z') });
});
afterAll(async () => {
  await conn.dropDatabase();
  await conn.close();
});

const purchase = (id: string, seq: number, at: string, accrued: number, spend: number, purchases: number) =>
  pointsEvent({
    id,
    at,
    memberId: String(memberId),
    seq,
    operation: 'purchase',
    lines: [{ kind: 'accrual', points: accrued, amount: accrued }],
    balance: 1000 + accrued,
    spendDeltaKopecks: spend,
    counters: { purchases, spentKopecks: spend * purchases, lastPurchaseAt: at, earned: accrued * purchases },
  });

describe('insight consumer', () => {
  it('counts a movement once however often the job runs, and on the shop day it happened', async () => {
    // 22:30 UTC on the 1st is 01:30 on the 2nd in Moscow.
    const e = purchase('entry:a', 1, '2026-03-01T22:30:00Z', 30, 100_000, 1);
    expect(await consumer.handle(e)).toBe('applied');
    await consumer.handle(e);
    await Promise.all([consumer.handle(e), consumer.handle(e)]);
    await Promise.all([daily.rollup(), daily.rollup()]);
    const day2 = await daily.sum('2026-03-02', '2026-03-02');
    expect(day2.accrued).toBe(30);
    expect(day2.purchases).toBe(1);
    expect(day2.revenueKopecks).toBe(100_000);
    expect((await daily.sum('2026-03-01', '2026-03-01')).purchases).toBe(0);
  });

  it('keeps the newest counters whatever order the events arrive in', async () => {
    const e2 = purchase('entry:b', 2, '2026-03-03T10:00:00Z', 30, 100_000, 2);
    const e3 = purchase('entry:c', 3, '2026-03-04T10:00:00Z', 30, 100_000, 3);
    await consumer.handle(e3);
    await consumer.handle(e2);
    const m = await memberModels(conn).Members.findById(memberId).lean();
    expect(m?.stats).toMatchObject({ seq: 3, purchases: 3, spentKopecks: 300_000, earned: 90 });
    expect(m?.stats?.lastPurchaseAt?.toISOString()).toBe('2026-03-04T10:00:00.000Z');
  });

  it('folds facts that arrive after a roll-up into the same day without counting the old ones twice', async () => {
    await daily.rollup();
    await consumer.handle(purchase('entry:d', 4, '2026-03-02T08:00:00Z', 5, 20_000, 4));
    await daily.rollup();
    const s = await daily.sum('2026-03-01', '2026-03-31');
    expect(s).toMatchObject({ accrued: 30 * 3 + 5, purchases: 4, revenueKopecks: 320_000, net: 95 });
    const cohorts = await daily.buyersByCohort(['2026-01']);
    expect(cohorts.get('2026-01|2026-03')).toBe(1);
  });

  it('keeps the newest counters when events of one member are handled at the same time', async () => {
    const e7 = purchase('entry:g', 7, '2026-04-05T10:00:00Z', 30, 100_000, 7);
    const e6 = purchase('entry:f', 6, '2026-04-05T09:00:00Z', 30, 100_000, 6);
    await Promise.all([consumer.handle(e7), consumer.handle(e6), consumer.handle(e7)]);
    expect((await memberModels(conn).Members.findById(memberId).lean())?.stats).toMatchObject({ seq: 7, purchases: 7 });
  });

  it('a roll-up by another process is seen by the days this one keeps in memory', async () => {
    const other = createDailyStats({ repo: createDailyStatsRepository(conn), timeZone: TZ, clock: fixedClock(new Date('2026-03-10T12:00:00Z')) });
    const before = (await daily.sum('2026-03-01', '2026-03-31')).purchases;
    const otherConsumer = createInsightConsumer({ members: createMemberStatsRepository(conn), mirror: createMemberStatsMirror(createMemberStatsRepository(conn)), daily: other, timeZone: TZ });
    await otherConsumer.handle(purchase('entry:h', 8, '2026-03-09T10:00:00Z', 5, 10_000, 8));
    await other.rollup();
    expect((await daily.sum('2026-03-01', '2026-03-31')).purchases).toBe(before + 1);
  });

  it('ignores events of other shapes', async () => {
    expect(await consumer.handle({ id: 'x', type: 'level.changed', data: {} })).toBe('ignored');
    expect(await consumer.handle({ id: 'entry:y', type: 'points.changed', at: '2026-03-01T00:00:00Z', card: '1', memberId: null, data: { entryType: 'accrual' } })).toBe('ignored');
  });
});
