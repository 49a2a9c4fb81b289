import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entriesDigest } from '../../core/contests/contest.draw.js';
import { verifyContest } from '../../core/contests/contest.verify.js';
import { codeOf, contestTest, type ContestTest } from './contest.fixture.js';

describe('contest close and draw', () => {
  let t: ContestTest;
  beforeAll(async () => {
    t = await contestTest();
  });
  afterAll(async () => {
    await t.close();
  });

  async function withEntries(n: number, extra: Parameters<ContestTest['contest']>[0] = {}) {
    const id = await t.contest(extra);
    const entered = [];
    for (let i = 0; i < n; i++) {
      const { account, card } = await t.entrant(i % 2 ? 'vk' : 'telegram');
      entered.push({ card, account, ...(await t.contests.enter({ contestId: id, channel: i % 2 ? 'vk' : 'telegram', account, cardInput: card })) });
    }
    return { id, entered };
  }

  it('publishes the commitment at once; seed and winners only after the draw; the digest at the close', async () => {
    const { id } = await withEntries(4);
    const open = await t.contests.publicRecord(id);
    expect(open).toMatchObject({ status: 'open', commitment: expect.stringMatching(/^[0-9a-f]{64}$/), entriesDigest: null, seed: null, winners: null });
    expect(JSON.stringify(open)).not.toContain((await t.conn.collection('contests').findOne({ _id: id as never }))?.seed);
    expect((await t.contests.get(id)).entries).toBe(4);

    // Before its published closing time a contest closes only with a reason, which is published.
    expect(await t.contests.close(id).catch((e: unknown) => e)).toMatchObject({ code: 'validation_failed', details: { reason: 'early_close_reason' } });
    expect((await t.contests.publicRecord(id)).status).toBe('open');
    const closed = await t.contests.close(id, '  Приз  закончился ');
    expect(closed).toMatchObject({ status: 'closed', entryCount: 4, entriesDigest: expect.stringMatching(/^[0-9a-f]{64}$/), seed: null, winners: null, closeReason: 'Приз закончился' });
    expect(await t.contests.publicRecord(id)).toMatchObject({ closeReason: 'Приз закончился', closedAt: t.clock.now().toISOString() });
    const list = await t.contests.publicEntries(id);
    expect(list.sealed).toBe(true);
    expect(entriesDigest(id, list.entries)).toBe(closed.entriesDigest);
    expect(await t.contests.close(id)).toEqual(closed);
    expect((await t.contests.publicRecord(id)).seed).toBeNull();
  });

  it('the draw reveals a seed whose sha256 is the commitment, and is deterministic', async () => {
    const { id, entered } = await withEntries(9, { prizes: 3, closesAt: new Date(t.clock.now().getTime() + 3600_000) });
    const { commitment } = await t.contests.publicRecord(id);
    t.clock.advance(3600_000);
    const first = await t.contests.draw(id);
    expect(first.contest.status).toBe('drawn');
    expect(createHash('sha256').update(Buffer.from(first.contest.seed!, 'hex')).digest('hex')).toBe(commitment);
    expect(first.winners.map((w) => w.place)).toEqual([1, 2, 3]);
    // Winners carry where they entered from, to be told there.
    for (const w of first.winners) {
      const e = entered.find((x) => x.entryId === w.entryId)!;
      expect(w).toMatchObject({ card: e.card, account: e.account, channel: e.account.split(':')[0], memberId: expect.any(String), masked: e.masked });
    }
    expect((await t.contests.draw(id)).winners).toEqual(first.winners);

    const record = await t.contests.publicRecord(id);
    expect(record.winners).toEqual(first.winners.map((w) => ({ place: w.place, entryId: w.entryId, masked: w.masked })));
    expect(JSON.stringify(record)).not.toMatch(new RegExp(entered.map((e) => e.card).join('|')));
    expect(verifyContest(record, (await t.contests.publicEntries(id)).entries).agree).toBe(true);

    const events = await t.conn.collection('outbox_events').find({ 'event.type': 'contest.won', 'event.data.contestId': id }).toArray();
    expect(events.map((e) => e.event.data.place).sort()).toEqual([1, 2, 3]);
    const won = events.find((e) => e.event.data.place === 1)!.event;
    expect(won).toMatchObject({ id: `contest-won:${id}:1`, card: first.winners[0]!.card, memberId: first.winners[0]!.memberId, data: { title: record.title, account: first.winners[0]!.account } });
  });

  it('draws only once the closing time has passed (or after an early close with its reason), also one nobody entered', async () => {
    const { id, entered } = await withEntries(2, { prizes: 5, closesAt: new Date(t.clock.now().getTime() + 3600_000) });
    // The operator who could read the seed cannot pick the moment: no draw while it is open.
    expect(await t.contests.draw(id).catch((e: unknown) => e)).toMatchObject({ code: 'contest_still_open' });
    t.clock.advance(3600_000);
    const r = await t.contests.draw(id);
    expect(r.winners).toHaveLength(2);
    expect(r.contest).toMatchObject({ status: 'drawn', entryCount: 2, closeReason: null, closedAt: r.contest.closesAt });
    expect(await codeOf(() => t.contests.enter({ contestId: id, channel: 'telegram', account: entered[0]!.account, cardInput: entered[0]!.card }))).toBe('contest_not_open');

    const empty = await t.contest();
    await t.contests.close(empty, 'Отменён');
    expect((await t.contests.draw(empty)).winners).toEqual([]);
    expect(await t.contests.draw('missing').catch((e: unknown) => e)).toMatchObject({ code: 'contest_not_found' });
  });

  it('entries racing the close are either in the sealed list or refused, never lost in between', async () => {
    const id = await t.contest();
    const entrants = await Promise.all(Array.from({ length: 20 }, () => t.entrant()));
    // Staggered, and the close starts as soon as the first entry is in: later ones race it.
    const attempts = entrants.map(({ card, account }, i) =>
      new Promise((r) => setTimeout(r, i * 8)).then(() => t.contests.enter({ contestId: id, channel: 'telegram', account, cardInput: card })),
    );
    const closing = Promise.race(attempts).then(() => t.contests.close(id, 'race test'));
    const results = await Promise.allSettled(attempts);
    const closed = await closing;
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.entryId] : []));
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []));
    expect(ok.length).toBeGreaterThan(0);
    expect(new Set(refused).size).toBeLessThanOrEqual(1);
    if (refused.length) expect(refused[0]).toBe('contest_not_open');
    const list = await t.contests.publicEntries(id);
    expect(list.entries.map((e) => e.id).sort()).toEqual([...ok].sort());
    expect(closed.entryCount).toBe(ok.length);
    expect(entriesDigest(id, list.entries)).toBe(closed.entriesDigest);
  });

  it('closeDue closes contests past their closing time; the status follows the clock', async () => {
    const id = await t.contest({ closesAt: new Date(t.clock.now().getTime() + 60_000) });
    expect(await t.contests.closeDue()).not.toContain(id);
    t.clock.advance(61_000);
    expect((await t.contests.publicRecord(id)).status).toBe('closed');
    expect(await t.contests.closeDue()).toContain(id);
    const c = await t.contests.get(id);
    expect(c.closedAt).toBe(c.closesAt);
    expect(c.entriesDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('validates a new contest', async () => {
    const now = t.clock.now().getTime();
    const bad = [
      { title: ' ' },
      { prizes: 0 },
      { prizes: 1.5 },
      { channels: [] },
      { closesAt: new Date(now - 1000) },
      { opensAt: new Date(now + 7200_000), closesAt: new Date(now + 3600_000) },
      { minLevel: 'diamond' },
      { joinedBefore: new Date('nope') },
    ];
    for (const extra of bad) expect(await codeOf(() => t.contest(extra as never)), JSON.stringify(extra)).toBe('validation_failed');
  });
});
