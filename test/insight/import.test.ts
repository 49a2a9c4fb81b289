import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cardModel } from '../../core/cards/card.model.js';
import { entryModel } from '../../core/ledger/entry.model.js';
import { memberModels } from '../../core/members/member.model.js';
import { testCore, type TestCore } from '../helpers/core.js';
import { balanceOf, messyCsv, messyRows, oldCard, PERSONS, personPhoneE164, purchasesOf, spentOf, toCp1251 } from './import.fixture.js';

let t: TestCore;
const MAX = 50 * 1024 * 1024;

async function* bytes(b: Buffer | string, piece = 7_919): AsyncGenerator<Buffer> {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8');
  // Odd piece sizes cut multi-byte letters and CRLF pairs in two, as a network does.
  for (let i = 0; i < buf.length; i += piece) yield buf.subarray(i, i + piece);
}

async function runImport(body: Buffer | string, opts: { dryRun?: boolean; contentType?: string } = {}) {
  const id = await t.core.insight.imports.create({ body: bytes(body), contentType: opts.contentType ?? 'text/csv', dryRun: opts.dryRun ?? false, maxBytes: MAX });
  return t.core.insight.imports.run(id);
}

async function balances(): Promise<Map<string, number>> {
  const { Members } = memberModels(t.conn);
  const members = await Members.find({}, { phone: 1, cardNumber: 1 }).lean();
  const cards = await cardModel(t.conn).find({}, { balance: 1 }).lean();
  const byCard = new Map(cards.map((c) => [c._id, c.balance]));
  return new Map(members.map((m) => [m.phone, byCard.get(m.cardNumber ?? '') ?? -1]));
}

// FerretDB v1 takes its time over a thousand members (every update scans its collection).
vi.setConfig({ testTimeout: 300_000 });

beforeAll(async () => {
  t = await testCore({ start: new Date('2026-03-01T10:00:00Z') });
});
afterAll(async () => t.close());

describe('import of a messy 1,000-row file', () => {
  it('a dry run judges every row and changes nothing', async () => {
    const before = await memberModels(t.conn).Members.countDocuments();
    const r = await runImport(messyCsv(), { dryRun: true });
    expect(r).toMatchObject({ status: 'done', dryRun: true, rows: 1000, created: 900, updated: 0, unchanged: 0, merged: 50, failed: 50 });
    expect(await memberModels(t.conn).Members.countDocuments()).toBe(before);
    expect(await entryModel(t.conn).countDocuments()).toBe(0);
    expect(await memberModels(t.conn).Aliases.countDocuments()).toBe(0);
  });

  it('loads it with exact counts, reasons and balances', async () => {
    // Person 18 already joined at the till (and got the welcome bonus then).
    await t.core.members.enroll({ phone: '8 999 100 00 18', name: 'Восемнадцатый', consent: true, channel: 'till' });
    const r = await runImport(messyCsv());
    expect(r).toMatchObject({ status: 'done', rows: 1000, created: 899, updated: 1, unchanged: 0, merged: 50, failed: 50, errorCount: 50 });
    expect(r.progress.percent).toBe(100);
    const reasons = r.errors.reduce<Record<string, number>>((a, e) => ({ ...a, [e.reason]: (a[e.reason] ?? 0) + 1 }), {});
    expect(reasons).toEqual({
      duplicate_conflict: 10,
      phone_invalid: 4,
      phone_required: 4,
      name_required: 4,
      balance_invalid: 4,
      card_invalid: 4,
      date_invalid: 4,
      level_unknown: 4,
      date_in_future: 4,
      spent_invalid: 4,
      opt_ins_invalid: 3,
      card_duplicate: 1,
    });
    // File rows: the header is row 1 and a blank line follows row 501.
    expect(r.errors[0]).toEqual({ row: 953, column: 'name', reason: 'duplicate_conflict' });
    expect(r.errors.find((e) => e.reason === 'card_duplicate')).toEqual({ row: 1002, column: 'card', reason: 'card_duplicate' });

    const { Members, Aliases } = memberModels(t.conn);
    expect(await Members.countDocuments()).toBe(PERSONS);
    const bal = await balances();
    expect(bal.get(personPhoneE164(9))).toBe(90);
    expect(bal.get(personPhoneE164(891))).toBe(8910);
    expect(bal.get(personPhoneE164(1))).toBe(0);
    // The member who joined before keeps the welcome bonus and gets the opening balance on top.
    expect(bal.get(personPhoneE164(18))).toBe(1000 + 180);
    // No welcome bonus for imported members: the only entries are one opening entry per balance > 0 (and person 18's welcome).
    const withBalance = Array.from({ length: PERSONS }, (_, p) => balanceOf(p)).filter((b) => (b ?? 0) > 0).length;
    // (Imported counters of members who joined before are import entries too, with no line: not counted here.)
    expect(await entryModel(t.conn).countDocuments({ type: 'import', amount: { $ne: 0 } })).toBe(withBalance);
    expect(await entryModel(t.conn).countDocuments({ type: 'welcome' })).toBe(1);
    expect(await t.core.ledger.sumFor({ type: 'import' })).toBe(445_500);

    // Old plastic cards now lead to the member's card.
    const aliases = await Aliases.countDocuments({ card: { $ne: null } });
    expect(aliases).toBe(PERSONS / 4);
    const card = await t.core.cards.resolve(oldCard(8)!);
    const m8 = await t.core.members.findByPhone(personPhoneE164(8));
    expect(card._id).toBe(m8?.cardNumber);
    // Imported counters are on the card and mirrored for segments.
    const c8 = (await cardModel(t.conn).collection.findOne({ _id: card._id as never })) as unknown as { spentKopecks: number; purchases: number };
    expect(c8.spentKopecks).toBe(spentOf(8));
    expect(c8.purchases).toBe(purchasesOf(8));
    expect(m8?.stats).toMatchObject({ purchases: purchasesOf(8), spentKopecks: spentOf(8) });
    // Duplicates merged: person 0's second row brought the opt-ins.
    expect((await t.core.members.findByPhone(personPhoneE164(0)))?.optIn).toEqual({ telegram: true, vk: true });
    // Levels: 'Золотой' above the spend is pinned; staff is a manual level.
    const m100 = await t.core.members.findByPhone(personPhoneE164(100));
    expect((await t.core.cards.byNumber(m100!.cardNumber!))?.levelId).toBe('gold');
    const m200 = await t.core.members.findByPhone(personPhoneE164(200));
    expect((await t.core.cards.byNumber(m200!.cardNumber!))?.manualLevelId).toBe('staff');
    // Imported members joined when they consented, and are not counted as new.
    expect(m8?.registeredAt?.toISOString()).toBe('2024-01-14T21:00:00.000Z');
  });

  it('the same file again changes nothing', async () => {
    const entries = await entryModel(t.conn).countDocuments();
    const before = await balances();
    const r = await runImport(messyCsv());
    expect(r).toMatchObject({ status: 'done', rows: 1000, created: 0, updated: 0, unchanged: 900, merged: 50, failed: 50 });
    expect(await entryModel(t.conn).countDocuments()).toBe(entries);
    expect(await balances()).toEqual(before);
  });

  it('a corrected file in Windows-1251 with commas updates only what changed', async () => {
    const rows = messyRows();
    rows[9]![3] = '45'; // person 9: 90 → 45 points
    rows[27]![3] = '0'; // person 27: 270 → 0 points
    rows[10]![1] = 'Десятый'; // person 10: renamed (in both of their rows)
    rows[910]![1] = 'Десятый';
    const r = await runImport(toCp1251(messyCsv({ rows, delimiter: ',', bom: false })));
    expect(r).toMatchObject({ status: 'done', rows: 1000, created: 0, updated: 3, unchanged: 897, failed: 50 });
    const bal = await balances();
    expect(bal.get(personPhoneE164(9))).toBe(45);
    expect(bal.get(personPhoneE164(27))).toBe(0);
    expect((await t.core.members.findByPhone(personPhoneE164(10)))?.name).toBe('Десятый');
    // One entry per change: −45 and −270.
    expect(await t.core.ledger.sumFor({ type: 'import' })).toBe(445_500 - 45 - 270);
  });

  it('refuses a file without the phone column, loading nothing', async () => {
    const before = await memberModels(t.conn).Members.countDocuments();
    const r = await runImport('Имя;Баллы\r\nАнна;100\r\n');
    expect(r.status).toBe('failed');
    expect(r.failure?.reason).toBe('no_header');
    expect(r.errors).toEqual([{ row: 1, column: 'phone', reason: 'missing_column' }]);
    expect(await memberModels(t.conn).Members.countDocuments()).toBe(before);
  });
});

describe('an imported number someone had only typed', () => {
  it('goes to a member of the base with its balance; the typist keeps their own card, without the number or the balance', async () => {
    // A stranger types the number in a chat (proves nothing) before the shop imports its base.
    const typist = await t.core.members.enroll({ phone: '+79995550101', name: 'Чужой', consent: true, channel: 'vk', identity: 'vk:555', proved: false });
    expect(typist.phone).toBe('unproved');
    const csv = 'Телефон;Имя;Баллы\n+7 999 555-01-01;Настоящая Владелица;750\n';
    const r = await runImport(csv);
    expect(r).toMatchObject({ status: 'done', created: 1, failed: 0 });
    const owner = await t.core.members.findByPhone('+79995550101');
    expect(owner?.name).toBe('Настоящая Владелица');
    expect(String(owner?._id)).not.toBe(String(typist.member._id));
    expect((await t.core.cards.byNumber(owner!.cardNumber!))?.balance).toBe(750);
    // The typist's card holds nothing of the owner's, and the number is no longer theirs.
    expect((await t.core.cards.byNumber(typist.card._id))?.balance).toBe(0);
    const typistNow = await t.core.members.byId(String(typist.member._id));
    expect(typistNow?.phone).not.toBe('+79995550101');
  });
});
