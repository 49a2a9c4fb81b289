import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemberDirectoryRepository } from '../../core/members/member-directory.repository.js';
import { createMemberListing } from '../../core/members/member-listing.js';
import { createMemberRecentRepository } from '../../core/members/member-recent.repository.js';
import { testCore, testPhone, type TestCore } from '../helpers/core.js';

/**
 * Name search from the embedded store's in-memory index, against the real store: built from
 * the members in the background, case and ё aside, told of joins and renames in between, and
 * never showing an erased member or one whose name no longer matches.
 */
let t: TestCore;
beforeAll(async () => {
  t = await testCore();
});
afterAll(async () => t.close());

const enroll = async (name: string) => String((await t.core.members.enroll({ phone: testPhone(), name, consent: true, channel: 'till' })).member._id);

describe('name index', () => {
  it('answers prefixes from memory once built, and checks every hit against the member', async () => {
    const fedor = await enroll('Фёдор Сидоров');
    const fedot = await enroll('Федот Иванов');
    await enroll('Анна Петрова');
    const gone = await enroll('Федя Стёркин');
    const listing = createMemberListing(createMemberRecentRepository(t.conn, { enabled: true }));
    const repo = createMemberDirectoryRepository(t.conn, listing);
    // Not built yet: the first look starts the build and the store answers meanwhile.
    expect(listing.names?.candidates('фед', 10)).toBeNull();
    for (let i = 0; i < 200 && listing.names?.candidates('фед', 10) === null; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await repo.byNamePrefix('ФЕД', 10)).map((m) => m.id).sort()).toEqual([fedor, fedot, gone].sort());
    expect((await repo.byNamePrefix('федо', 10)).map((m) => m.name)).toEqual(['Фёдор Сидоров', 'Федот Иванов']);

    await t.core.members.anonymize(gone);
    const renamed = await enroll('Мария');
    await t.core.members.update(renamed, { name: 'Федора Ким' });
    listing.renamed(renamed, 'Федора Ким');
    const late = await enroll('Федул');
    await listing.joined([{ id: late, name: 'Федул' }]);
    expect((await repo.byNamePrefix('фед', 10)).map((m) => m.name)).toEqual(['Фёдор Сидоров', 'Федора Ким', 'Федот Иванов', 'Федул']);
    // Renamed away: the old entry finds nobody.
    await t.core.members.update(fedot, { name: 'Пётр' });
    expect((await repo.byNamePrefix('федот', 10)).map((m) => m.id)).toEqual([]);
  });
});
