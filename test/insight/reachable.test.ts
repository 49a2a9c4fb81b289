import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCore, testPhone, type TestCore } from '../helpers/core.js';

/**
 * A segment's `reachable` and a broadcast's recipients follow one rule (marketing-choice.ts):
 * an opt-in without the member's own choice, or a chat that blocked the bot, reaches nobody.
 */
let t: TestCore;
beforeAll(async () => {
  t = await testCore();
});
afterAll(async () => t.close());

const join = async (chat: number) => String((await t.core.members.enroll({ phone: testPhone(), name: 'Ира', consent: true, channel: 'telegram', identity: `telegram:${chat}` })).member._id);

describe('reachable', () => {
  it('counts in a segment exactly the members a broadcast would send to', async () => {
    const chose = await join(501);
    const blocked = await join(502);
    await join(503); // never chose: no marketing
    await t.core.broadcasts.setMarketing(chose, ['telegram'], true);
    await t.core.broadcasts.setMarketing(blocked, ['telegram'], true);
    await t.core.broadcasts.setReachable('telegram:502', false);
    await t.core.insight.segments.rebuild();

    const inSegment = await t.core.insight.segments.count({ op: 'and', rules: [{ field: 'reachable', op: 'eq', value: 'telegram' }] });
    const preview = await t.core.broadcasts.preview({ text: 'Скидка', audience: { kind: 'all' }, channels: ['telegram'] });
    expect(inSegment.count).toBe(1);
    expect(preview.recipients.telegram).toBe(1);
    expect((await t.core.insight.reports.members({})).reachable).toMatchObject({ telegram: 1 });
  });
});
