import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberModels } from '../../core/members/member.model.js';
import { quintileScorer, rfmGroup } from '../../core/segments/rfm.score.js';
import { testCore, type TestCore } from '../helpers/core.js';
import { pointsEvent } from './insight.fixture.js';

let t: TestCore;
const NOW = new Date('2026-03-01T10:00:00Z');
const days = (n: number): string => new Date(NOW.getTime() - n * 86_400_000).toISOString();

/**
 * Ten buyers with distinct recency (days ago), frequency and spend (₽), plus one member who
 * never bought. Over ten distinct values each score covers two members (1 + ⌊5·below/10⌋).
 * Hand-computed scores and groups (README's table) in the last columns.
 */
const BUYERS: [name: string, daysAgo: number, purchases: number, rubles: number, r: number, f: number, m: number, group: string][] = [
  ['A', 1, 40, 90_000, 5, 5, 5, 'champions'],
  ['B', 2, 1, 250, 5, 1, 1, 'new'],
  ['C', 10, 30, 80_000, 4, 5, 5, 'champions'],
  ['D', 15, 3, 1_000, 4, 2, 2, 'potential_loyalist'],
  ['E', 40, 20, 50_000, 3, 4, 4, 'loyal'],
  ['F', 50, 4, 2_000, 3, 3, 3, 'need_attention'],
  ['G', 120, 10, 30_000, 2, 3, 3, 'at_risk'],
  ['H', 150, 1, 300, 2, 1, 2, 'about_to_sleep'],
  ['I', 300, 25, 70_000, 1, 4, 4, 'cant_lose'],
  ['J', 400, 1, 200, 1, 1, 1, 'lost'],
];

const ids = new Map<string, string>();

beforeAll(async () => {
  t = await testCore({ start: NOW });
  const { Members } = memberModels(t.conn);
  for (const [name] of [...BUYERS, ['Z']] as [string][]) {
    const id = new Types.ObjectId();
    ids.set(name, String(id));
    await Members.collection.insertOne({
      _id: id,
      phone: `+7999555${String(ids.size).padStart(4, '0')}`,
      name,
      status: 'active',
      joinedVia: name === 'A' || name === 'C' ? 'telegram' : 'till',
      optIn: { telegram: true },
      registeredAt: new Date('2025-01-10T10:00:00Z'),
      createdAt: NOW,
      cardNumber: null,
    });
  }
  // The counters arrive as the ledger's events would bring them: through the consumer.
  for (const [i, [name, daysAgo, purchases, rubles]] of BUYERS.entries()) {
    await t.core.insight.consumer.handle(
      pointsEvent({ id: `entry:${i}`, at: days(daysAgo), memberId: ids.get(name)!, seq: purchases, operation: 'purchase', lines: [{ kind: 'accrual', points: 10, amount: 10 }], spendDeltaKopecks: 100, counters: { purchases, spentKopecks: rubles * 100, lastPurchaseAt: days(daysAgo) } }),
    );
  }
  await t.core.insight.segments.rebuild();
});
afterAll(async () => t.close());

describe('RFM', () => {
  it('scores by quintiles, equal values alike', () => {
    // Six members with one purchase all score 1; 2 has six below it: 1 + ⌊5·6/10⌋ = 4.
    const f = quintileScorer(Float64Array.from([1, 1, 1, 1, 1, 1, 2, 3, 4, 5]));
    expect([1, 2, 3, 4, 5].map(f)).toEqual([1, 4, 4, 5, 5]);
    expect(rfmGroup(5, 5, 4)).toBe('champions');
    expect(rfmGroup(1, 1, 2)).toBe('hibernating');
  });

  it('puts known members in known groups', async () => {
    const coll = t.conn.collection((await t.core.insight.segments.snapshot())!.collection);
    for (const [name, , , , r, f, m, group] of BUYERS) {
      const doc = await coll.findOne({ _id: new Types.ObjectId(ids.get(name)) });
      expect({ name, r: doc?.rfmR, f: doc?.rfmF, m: doc?.rfmM, group: doc?.rfmGroup }).toEqual({ name, r, f, m, group });
    }
    const z = await coll.findOne({ _id: new Types.ObjectId(ids.get('Z')) });
    expect(z?.rfmGroup).toBeNull();
    const snap = await t.core.insight.segments.snapshot();
    expect(snap).toMatchObject({ members: 11, purchasers: 10, rfmGroups: { champions: 2, lost: 1, new: 1 } });
  });
});

describe('saved segments', () => {
  it('combine rules with AND/OR, count live and page members', async () => {
    const s = t.core.insight.segments;
    // Champions or can't-lose, AND joined through the till: only I.
    const rules = { op: 'and', rules: [{ op: 'or', rules: [{ field: 'rfmGroup', op: 'eq', value: 'champions' }, { field: 'rfmGroup', op: 'eq', value: 'cant_lose' }] }, { field: 'channel', op: 'eq', value: 'till' }] };
    const seg = await s.create({ name: 'Важные', rules });
    expect(await s.countSegment(seg.id)).toMatchObject({ count: 1 });
    // No purchase for over 90 days: G, H, I, J.
    const sleeping = await s.create({ name: 'Спящие', rules: { op: 'and', rules: [{ field: 'daysSinceLastPurchase', op: 'gt', value: 90 }] } });
    expect((await s.countSegment(sleeping.id)).count).toBe(4);
    const page1 = await s.members(sleeping.id, { limit: 3 });
    expect(page1.items).toHaveLength(3);
    const page2 = await s.members(sleeping.id, { limit: 3, after: page1.next! });
    expect(page2).toMatchObject({ next: null });
    expect([...page1.items, ...page2.items].map((m) => m.name).sort()).toEqual(['G', 'H', 'I', 'J']);
    const pages: string[][] = [];
    for await (const p of s.resolveSegment(sleeping.id, 3)) pages.push(p);
    expect(pages.map((p) => p.length)).toEqual([3, 1]);
    expect(new Set(pages.flat())).toEqual(new Set(['G', 'H', 'I', 'J'].map((n) => ids.get(n))));
    await s.update(sleeping.id, { name: 'Спящие', rules: { op: 'and', rules: [{ field: 'daysSinceLastPurchase', op: 'gt', value: 200 }] } });
    expect((await s.countSegment(sleeping.id)).count).toBe(2);
    await s.remove(sleeping.id);
    await expect(s.get(sleeping.id)).rejects.toMatchObject({ code: 'segment_not_found' });
  });

  it('refuses rules that do not fit their field', async () => {
    await expect(t.core.insight.segments.create({ name: 'x', rules: { op: 'and', rules: [{ field: 'purchases', op: 'gt', value: 'many' }] } })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(t.core.insight.segments.create({ name: 'x', rules: { op: 'xor', rules: [] } })).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
