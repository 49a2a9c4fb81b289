import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember, testCore, type TestCore } from '../helpers/core.js';

/**
 * The staff's member list against the real store: newest first, a page at a time on the
 * server, every member once, erased ones left out (on FerretDB through the capped newest-first
 * list, on MongoDB through the `_id` index).
 */
let t: TestCore;
beforeAll(async () => {
  t = await testCore();
});
afterAll(async () => t.close());

describe('member list', () => {
  it('pages newest first, each member once, without the erased', async () => {
    const joined: string[] = [];
    for (let i = 0; i < 7; i++) {
      joined.push(String((await newMember(t.core)).member._id));
      t.clock.advance(1000);
    }
    await t.core.members.anonymize(joined[2]!);
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await t.core.directory.search('', { limit: 3, ...(after ? { after } : {}) });
      expect(page.kind).toBe('list');
      seen.push(...page.items.map((m) => m.id));
      after = page.next ?? undefined;
      pages++;
    } while (after && pages < 10);
    expect(seen).toEqual(joined.filter((_, i) => i !== 2).reverse());
  });
});
