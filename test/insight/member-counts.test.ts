import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemberCounts } from '../../core/insight/member-counts.js';
import { createMemberCountsRepository } from '../../core/insight/member-counts.repository.js';
import { testCore, newMember, type TestCore } from '../helpers/core.js';

/**
 * The member counts the reports sum, against the real store: one pass, its freshness rule
 * (awaited on a small base, in the background on a large one), erased members left out.
 */
let t: TestCore;
beforeAll(async () => {
  t = await testCore({ start: new Date('2026-03-20T12:00:00Z') });
});
afterAll(async () => t.close());

const wait = async (until: () => Promise<boolean>): Promise<void> => {
  for (let i = 0; i < 200 && !(await until()); i++) await new Promise((r) => setTimeout(r, 25));
};

describe('member counts', () => {
  it('a pass that was cheap is redone on every read', async () => {
    const counts = createMemberCounts({ repo: createMemberCountsRepository(t.conn), clock: t.clock, timeZone: 'Europe/Moscow' });
    const before = (await counts.get()).total;
    const a = await newMember(t.core);
    await newMember(t.core);
    const c = await counts.get();
    expect(c.total).toBe(before + 2);
    expect(c.joined('2026-03-20', '2026-03-20', { fresh: true })).toBe(before + 2);
    expect(c.freshByDay('2026-03-01', '2026-03-31')).toEqual([{ day: '2026-03-20', count: before + 2 }]);
    // Erased members count nowhere.
    await t.core.members.anonymize(a.member._id.toString());
    expect((await counts.get()).total).toBe(before + 1);
  });

  it('a pass slower than liveUnderMs is read as it was and redone in the background once stale', async () => {
    const counts = createMemberCounts({ repo: createMemberCountsRepository(t.conn), clock: t.clock, timeZone: 'Europe/Moscow', options: { liveUnderMs: 0, staleAfterMs: 60_000 } });
    await counts.recount();
    const first = await counts.get();
    await newMember(t.core);
    // Fresh enough: the read does not count again.
    const same = await counts.get();
    expect(same.total).toBe(first.total);
    expect(same.asOf).toEqual(first.asOf);
    // Stale: this read still gets the old counts, and a pass starts behind it.
    t.clock.advance(61_000);
    expect((await counts.get()).total).toBe(first.total);
    await wait(async () => (await counts.get()).total === first.total + 1);
    const after = await counts.get();
    expect(after.total).toBe(first.total + 1);
    expect(after.asOf.getTime()).toBeGreaterThan(first.asOf.getTime());
  });
});
