import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contestModels } from '../../core/contests/contest.model.js';
import { memberModels } from '../../core/members/member.model.js';
import { testCore, type TestCore } from '../helpers/core.js';
import { pointsEvent, type EventSpec } from './insight.fixture.js';

/**
 * A small shop, hand-computed. Time zone Europe/Moscow (UTC+3), today 2026-03-20.
 *  M1 joined 05.01 (telegram) · M2 20.01 (till) · M3 10.02 (till, invited by M1)
 *  M4 02.03 (telegram, invited by M1) · M5 imported (joined 01.06.2025) · M6 01.03 21:30 UTC = 02.03 Moscow.
 * Movements (kopecks; points):
 *  E1 10.01 M1 purchase 1 000 ₽, +30      E2 05.02 M2 purchase 400 ₽, −50 then +20
 *  E3 05.03 M3 purchase 500 ₽, +15        E4 06.03 M1 purchase 2 000 ₽, +60 (delivered twice)
 *  E5 07.03 M1 refund −1 000 ₽, −30       E6 08.03 M2 expiry −10
 *  E7 02.03 M4 welcome +1 000             E8 01.03 M5 import +500     E9 02.03 M1 referral +3 000
 */
let t: TestCore;
const m = new Map<string, string>();
const NOW = new Date('2026-03-20T12:00:00Z');

const EVENTS: (Omit<EventSpec, 'memberId'> & { who: string })[] = [
  { id: 'entry:e1', who: 'M1', at: '2026-01-10T10:00:00Z', seq: 1, operation: 'purchase', lines: [{ kind: 'accrual', points: 30, amount: 30 }], spendDeltaKopecks: 100_000, counters: { purchases: 1, spentKopecks: 100_000, lastPurchaseAt: '2026-01-10T10:00:00Z', earned: 30 } },
  { id: 'entry:e2', who: 'M2', at: '2026-02-05T10:00:00Z', seq: 1, operation: 'purchase', lines: [{ kind: 'redemption', points: 50, amount: -50 }, { kind: 'accrual', points: 20, amount: 20 }], spendDeltaKopecks: 40_000, counters: { purchases: 1, spentKopecks: 40_000, lastPurchaseAt: '2026-02-05T10:00:00Z', earned: 20, redeemed: 50 } },
  { id: 'entry:e3', who: 'M3', at: '2026-03-05T10:00:00Z', seq: 1, operation: 'purchase', lines: [{ kind: 'accrual', points: 15, amount: 15 }], spendDeltaKopecks: 50_000, counters: { purchases: 1, spentKopecks: 50_000, lastPurchaseAt: '2026-03-05T10:00:00Z', earned: 15 } },
  { id: 'entry:e4', who: 'M1', at: '2026-03-06T10:00:00Z', seq: 3, operation: 'purchase', lines: [{ kind: 'accrual', points: 60, amount: 60 }], spendDeltaKopecks: 200_000, counters: { purchases: 2, spentKopecks: 300_000, lastPurchaseAt: '2026-03-06T10:00:00Z', earned: 3090 } },
  { id: 'entry:e5', who: 'M1', at: '2026-03-07T10:00:00Z', seq: 4, operation: 'refund', lines: [{ kind: 'clawback', points: 30, amount: -30 }], spendDeltaKopecks: -100_000, counters: { purchases: 2, spentKopecks: 200_000, lastPurchaseAt: '2026-03-06T10:00:00Z', earned: 3060 } },
  { id: 'entry:e6', who: 'M2', at: '2026-03-08T10:00:00Z', seq: 2, operation: 'expiry', lines: [{ kind: 'expiry', points: 10, amount: -10 }], counters: { purchases: 1, spentKopecks: 40_000, lastPurchaseAt: '2026-02-05T10:00:00Z', earned: 20, redeemed: 50, expired: 10 } },
  { id: 'entry:e7', who: 'M4', at: '2026-03-02T10:00:00Z', seq: 1, operation: 'welcome', lines: [{ kind: 'credit', points: 1000, amount: 1000 }], counters: { earned: 1000 } },
  { id: 'entry:e8', who: 'M5', at: '2026-03-01T10:00:00Z', seq: 1, operation: 'import', lines: [{ kind: 'credit', points: 500, amount: 500 }], counters: {} },
  { id: 'entry:e9', who: 'M1', at: '2026-03-02T10:00:00Z', seq: 2, operation: 'referral', role: 'referrer', lines: [{ kind: 'credit', points: 3000, amount: 3000 }], counters: { purchases: 1, spentKopecks: 100_000, lastPurchaseAt: '2026-01-10T10:00:00Z', earned: 3030 } },
];

beforeAll(async () => {
  t = await testCore({ start: NOW });
  const { Members } = memberModels(t.conn);
  const people: [string, string, string, string | null, boolean][] = [
    ['M1', '2026-01-05T10:00:00Z', 'telegram', null, false],
    ['M2', '2026-01-20T10:00:00Z', 'till', null, false],
    ['M3', '2026-02-10T10:00:00Z', 'till', 'M1', false],
    ['M4', '2026-03-02T10:00:00Z', 'telegram', 'M1', false],
    ['M5', '2025-06-01T10:00:00Z', 'admin', null, true],
    ['M6', '2026-03-01T21:30:00Z', 'till', null, false],
  ];
  for (const [name] of people) m.set(name, String(new Types.ObjectId()));
  for (const [i, [name, at, via, referrer, imported]] of people.entries()) {
    await Members.collection.insertOne({
      _id: new Types.ObjectId(m.get(name)),
      phone: `+7999666000${i}`,
      name,
      status: 'active',
      joinedVia: via,
      referrerId: referrer ? m.get(referrer) : null,
      optIn: {},
      registeredAt: new Date(at),
      createdAt: new Date(at),
      cardNumber: null,
      ...(imported ? { imported: { importId: 'x', createdByImport: true, at: new Date(at) } } : {}),
    });
  }
  for (const e of [...EVENTS, EVENTS[3]!]) await t.core.insight.consumer.handle(pointsEvent({ ...e, memberId: m.get(e.who)! }));
  for (const [i, at] of ['2026-02-20', '2026-03-02', '2026-03-03', '2026-03-03'].entries()) {
    t.clock.set(new Date(`${at}T12:00:00Z`));
    await t.core.insight.daily.referralOpened({ code: 'abc', referrerId: m.get('M1')!, account: `telegram:${i}` });
  }
  t.clock.set(NOW);
  const { Contests, Entries } = contestModels(t.conn);
  await Contests.collection.insertOne({ _id: 'c1', title: 'Весенний', opensAt: new Date('2026-03-01T00:00:00Z'), closesAt: new Date('2026-03-15T00:00:00Z') } as never);
  await Entries.collection.insertMany([
    { _id: 'c1|a', contestId: 'c1', memberId: m.get('M4'), card: 'a' },
    { _id: 'c1|b', contestId: 'c1', memberId: m.get('M1'), card: 'b' },
  ] as never[]);
  await t.core.insight.segments.rebuild();
});
afterAll(async () => t.close());

const MARCH = { from: '2026-03-01', to: '2026-03-31' };

describe('reports against a hand-computed shop', () => {
  it('summary', async () => {
    expect(await t.core.insight.reports.summary(MARCH)).toEqual({
      period: { from: '2026-03-01', to: '2026-03-31', timeZone: 'Europe/Moscow' },
      // A small base is counted on every read: the counts are as of now.
      countedAt: NOW.toISOString(),
      members: { total: 6, new: 2 },
      // issued 15 + 60 + 1 000 + 3 000 − 30; outstanding: every net change up to 31.03.
      points: { issued: 4045, redeemed: 0, expired: 10, outstanding: 4535 },
      purchases: { count: 2, revenue: 150_000, refunds: 1, averageReceipt: 75_000 },
    });
  });

  it('points', async () => {
    expect(await t.core.insight.reports.points(MARCH)).toMatchObject({ issued: 4045, redeemed: 0, expired: 10, adjustedOut: 0, imported: 500, outstanding: 4535, outstandingKopecks: 453_500, redemptionRate: 0 });
    expect(await t.core.insight.reports.points({ from: '2026-02-01', to: '2026-02-28' })).toMatchObject({ issued: 20, redeemed: 50, outstanding: 0, redemptionRate: 2.5 });
  });

  it('members', async () => {
    expect(await t.core.insight.reports.members(MARCH)).toMatchObject({
      total: 6,
      new: 2,
      newByDay: [{ day: '2026-03-02', count: 2 }],
      byJoinChannel: { telegram: 2, till: 3, admin: 1 },
      withPass: 0,
    });
  });

  it('activity', async () => {
    expect(await t.core.insight.reports.activity(MARCH)).toMatchObject({
      members: 6,
      active30: { count: 2, share: 0.3333 },
      active90: { count: 3, share: 0.5 },
      purchases: 2,
      revenue: 150_000,
      averageReceipt: 75_000,
      buyerMonths: 2,
      purchasesPerBuyerMonth: 1,
    });
  });

  it('retention and churn', async () => {
    const r = await t.core.insight.reports.retention({ from: '2026-01-01', to: '2026-03-31' });
    expect(r.cohorts.map((c) => [c.cohort, c.members, c.months.map((x) => x.share)])).toEqual([
      ['2026-01', 2, [0.5, 0.5, 0.5]],
      ['2026-02', 1, [0, 1]],
      ['2026-03', 2, [0]],
    ]);
    expect(r.churn).toEqual({ buyers: 3, churned: 0, share: 0 });
  });

  it('LTV by level and cohort', async () => {
    const r = await t.core.insight.reports.ltv();
    expect(r.byLevel).toEqual([{ key: 'base', members: 6, spentKopecks: 290_000, averageKopecks: 48_333 }]);
    expect(r.byCohort).toEqual([
      { key: '2025-06', members: 1, spentKopecks: 0, averageKopecks: 0 },
      { key: '2026-01', members: 2, spentKopecks: 240_000, averageKopecks: 120_000 },
      { key: '2026-02', members: 1, spentKopecks: 50_000, averageKopecks: 50_000 },
      { key: '2026-03', members: 2, spentKopecks: 0, averageKopecks: 0 },
    ]);
  });

  it('referral funnel and contests', async () => {
    expect(await t.core.insight.reports.referrals(MARCH)).toMatchObject({ opened: 3, joined: 1, firstPurchase: 0 });
    expect(await t.core.insight.reports.referrals({ from: '2026-02-01', to: '2026-02-28' })).toMatchObject({ opened: 1, joined: 1, firstPurchase: 1 });
    expect((await t.core.insight.reports.contests(MARCH)).contests).toEqual([{ id: 'c1', title: 'Весенний', opensAt: '2026-03-01T00:00:00.000Z', closesAt: '2026-03-15T00:00:00.000Z', entries: 2, newMembers: 1 }]);
  });

  it('broadcast against its holdout', async () => {
    const pages = (names: string[]) => async function* () {
      yield names.slice(0, 2).map((n) => m.get(n)!);
      if (names.length > 2) yield names.slice(2).map((n) => m.get(n)!);
    };
    const r = await t.core.insight.reports.broadcast({ id: 'b1', sentAt: new Date('2026-03-03T00:00:00Z'), delivered: 4, unsubscribed: 1, recipients: pages(['M1', 'M3', 'M4', 'M6']), holdout: pages(['M2']) });
    expect(r).toEqual({
      id: 'b1',
      sentAt: '2026-03-03T00:00:00.000Z',
      windowDays: 7,
      delivered: 4,
      unsubscribed: 1,
      recipients: { members: 4, buyers: 2, purchases: 2, revenueKopecks: 250_000, conversion: 0.5 },
      holdout: { members: 1, buyers: 0, purchases: 0, revenueKopecks: 0, conversion: 0 },
      upliftPoints: 50,
      incrementalRevenueKopecks: 250_000,
    });
  });

  it('refuses a bad period', async () => {
    await expect(t.core.insight.reports.summary({ from: '2026-03-31', to: '2026-03-01' })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(t.core.insight.reports.summary({ from: '2026-02-30' })).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
