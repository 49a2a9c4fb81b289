import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCore, testPhone, type TestCore } from '../helpers/core.js';

/** The automations on the broadcast engine: expiring points and "we miss you", each once. */
let t: TestCore;

beforeAll(async () => {
  // Noon in Moscow.
  t = await testCore({ start: new Date('2026-06-10T09:00:00Z') });
});
afterAll(async () => {
  await t.close();
});

async function optedIn(): Promise<{ id: string; card: string }> {
  const r = await t.core.members.enroll({ phone: testPhone(), name: 'Вера', consent: true, channel: 'telegram', identity: `telegram:${Math.floor(Math.random() * 1e9)}` });
  await t.core.broadcasts.setMarketing(String(r.member._id), ['telegram'], true);
  return { id: String(r.member._id), card: r.card._id };
}

describe('automations', () => {
  it('points expiring within 14 days: one broadcast per expiry date, once; "we miss you" after 60 days, once', async () => {
    const expiring = await optedIn();
    const away = await optedIn();
    const recent = await optedIn();
    // A lot expiring in 5 days (Moscow day 2026-06-15), and purchase counters 60 and 10 days back.
    await t.conn.collection('cards').updateOne({ _id: expiring.card as never }, { $set: { lots: [{ entryId: 'e1', earnedAt: new Date('2025-12-15T09:00:00Z'), expiresAt: new Date('2026-06-15T09:00:00Z'), remaining: 300 }] } });
    await t.conn.collection('members').updateOne({ _id: (await t.core.members.byId(away.id))?._id }, { $set: { 'stats.lastPurchaseAt': new Date('2026-04-11T10:00:00Z') } });
    await t.conn.collection('members').updateOne({ _id: (await t.core.members.byId(recent.id))?._id }, { $set: { 'stats.lastPurchaseAt': new Date('2026-05-31T10:00:00Z') } });

    const started = await t.core.broadcasts.automations.run();
    expect(started).toHaveLength(2);
    const views = await Promise.all(started.map((id) => t.core.broadcasts.get(id)));
    const exp = views.find((v) => v.text.includes('сгорит'));
    const miss = views.find((v) => v.text.includes('соскучились'));
    expect(exp).toMatchObject({ kind: 'automation', recipients: { telegram: 1, total: 1 }, audience: { kind: 'members', memberIds: [expiring.id] } });
    expect(exp?.text).toContain('15 июня');
    expect(miss).toMatchObject({ kind: 'automation', recipients: { telegram: 1, total: 1 }, audience: { kind: 'members', memberIds: [away.id] } });
    // The next run (an hour later) starts nothing new.
    t.clock.advance(3600_000);
    expect(await t.core.broadcasts.automations.run()).toEqual([]);
    expect((await t.core.broadcasts.list({ kind: 'automation' })).items).toHaveLength(2);
  });

  it('are off when the settings say so', async () => {
    await t.core.settings.update({ marketing: { quietHours: { start: '21:00', end: '09:00' }, frequencyCap: { max: 3, days: 7 }, automations: { expiringPoints: { enabled: false, withinDays: 14 }, weMissYou: { enabled: false, afterDays: 60 } } } });
    const away = await optedIn();
    await t.conn.collection('members').updateOne({ _id: (await t.core.members.byId(away.id))?._id }, { $set: { 'stats.lastPurchaseAt': new Date('2026-04-10T10:00:00Z') } });
    expect(await t.core.broadcasts.automations.run()).toEqual([]);
  });
});
