import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCardNumber } from '../../core/cards/card-number.js';
import { contestRefusalReply } from '../../core/contests/contest.replies.js';
import { createI18n } from '../../core/i18n/i18n.js';
import { DomainError } from '../../core/shared/errors.js';
import { acct, codeOf, contestTest, type ContestTest } from './contest.fixture.js';

/** A number with a valid shape and a wrong check digit. */
function mistyped(valid: string): string {
  const last = Number(valid.at(-1));
  return valid.slice(0, -1) + String((last + 1) % 10);
}

const reasonOf = async (p: Promise<unknown>): Promise<string> => {
  const err = await p.then(() => null, (e: unknown) => e);
  return err instanceof DomainError ? `${err.code}${typeof err.details.reason === 'string' ? `:${err.details.reason}` : ''}` : 'entered';
};

describe('contest entry', () => {
  let t: ContestTest;
  beforeAll(async () => {
    t = await contestTest();
  });
  afterAll(async () => {
    await t.close();
  });

  it('enters the card of the account\'s own member once and answers its public entry id', async () => {
    const id = await t.contest();
    const { account, card } = await t.entrant();
    const r = await t.contests.enter({ contestId: id, channel: 'telegram', account, cardInput: `${card.slice(0, 4)} ${card.slice(4)}` });
    expect(r).toMatchObject({ entryId: expect.stringMatching(/^[0-9a-f]{32}$/), masked: expect.stringContaining('•'), contest: { id } });
    expect(r.masked.endsWith(card.slice(-4))).toBe(true);
    expect(await t.contests.count(id)).toBe(1);
  });

  it("someone else's card is refused (with the answer of a number that is no card), and its holder still enters", async () => {
    const id = await t.contest();
    const victim = await t.entrant();
    const thief = await t.entrant('vk');
    const enter = (account: string, cardInput: string, channel: 'telegram' | 'vk' = 'telegram') => reasonOf(t.contests.enter({ contestId: id, channel, account, cardInput }));
    expect(await enter(thief.account, victim.card, 'vk')).toBe('contest_not_eligible:not_your_card');
    expect(await enter(thief.account, generateCardNumber('70'), 'vk')).toBe('contest_not_eligible:not_your_card');
    // An account that is nobody's may not enter with any card, and is not told whether the number exists.
    expect(await enter(acct(), victim.card)).toBe('contest_not_eligible:not_a_member');
    expect(await enter(acct(), generateCardNumber('70'))).toBe('contest_not_eligible:not_a_member');
    // A card with no member yet (a plastic card not handed to anyone) is nobody's own.
    const plastic = generateCardNumber('71');
    await t.core.cards.importPlastic([plastic]);
    expect(await enter(thief.account, plastic, 'vk')).toBe('contest_not_eligible:not_your_card');
    expect(await enter(victim.account, victim.card)).toBe('entered');
    expect(await t.contests.count(id)).toBe(1);
  });

  it('refuses each case with its own code', async () => {
    const id = await t.contest({ channels: ['telegram', 'vk'] });
    const { account: a, card } = await t.entrant();
    const enter = (cardInput: string, account = a, channel: 'telegram' | 'vk' | 'twitch' = 'telegram', contestId = id) =>
      codeOf(() => t.contests.enter({ contestId, channel, account, cardInput }));

    expect(await enter(mistyped(card))).toBe('invalid_card_number');
    expect(await enter('hello')).toBe('invalid_card_number');
    const blocked = await t.entrant();
    await t.core.cards.setStatus(blocked.card, 'blocked');
    expect(await enter(blocked.card, blocked.account)).toBe('card_blocked');
    expect(await enter(card, a, 'telegram', 'nope')).toBe('contest_not_found');
    expect(await enter(card, await t.accountOf(card, 'twitch'), 'twitch')).toBe('contest_not_open');

    await t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: card });
    expect(await enter(card)).toBe('contest_already_entered');
    // The same member's other account: one card, one entry.
    expect(await enter(card, await t.accountOf(card, 'vk'), 'vk')).toBe('contest_card_taken');

    const later = await t.contest({ opensAt: new Date(t.clock.now().getTime() + 3600_000) });
    expect(await enter(card, a, 'telegram', later)).toBe('contest_not_open');
    const closed = await t.contest({ closesAt: new Date(t.clock.now().getTime() + 1000) });
    t.clock.advance(2000);
    expect(await enter(card, a, 'telegram', closed)).toBe('contest_not_open');
    await expect(t.contests.enter({ contestId: id, channel: 'telegram', account: 'vk:1', cardInput: card })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('checks eligibility: minimum level (pinned levels count, staff does not) and joined-before date', async () => {
    const silver = await t.contest({ minLevel: 'silver' });
    const base = await t.entrant('vk');
    const staff = await t.entrant('vk');
    await t.core.ledger.setLevel({ card: staff.card, levelId: 'staff', author: 'test' });
    const gold = await t.entrant('vk');
    await t.core.ledger.setLevel({ card: gold.card, levelId: 'gold', author: 'test' });
    const refusal = await t.contests.enter({ contestId: silver, channel: 'vk', account: base.account, cardInput: base.card }).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ code: 'contest_not_eligible', details: { reason: 'min_level', minLevel: 'silver' } });
    expect(await codeOf(() => t.contests.enter({ contestId: silver, channel: 'vk', account: staff.account, cardInput: staff.card }))).toBe('contest_not_eligible');
    await t.contests.enter({ contestId: silver, channel: 'vk', account: gold.account, cardInput: gold.card });

    const veterans = await t.contest({ joinedBefore: new Date(t.clock.now().getTime() + 1000) });
    const old = await t.entrant();
    t.clock.advance(5000);
    const fresh = await t.entrant();
    await t.contests.enter({ contestId: veterans, channel: 'telegram', account: old.account, cardInput: old.card });
    const late = await t.contests.enter({ contestId: veterans, channel: 'telegram', account: fresh.account, cardInput: fresh.card }).catch((e: unknown) => e);
    expect(late).toMatchObject({ code: 'contest_not_eligible', details: { reason: 'joined_after' } });

    await expect(t.contest({ minLevel: 'staff' })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('throttles wrong numbers per account: the 6th within 10 minutes is refused and logged, allowed after the window', async () => {
    const id = await t.contest();
    const { account: a, card } = await t.entrant();
    const other = await t.card();
    for (let i = 0; i < 5; i++) {
      expect(await codeOf(() => t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: i % 2 ? other : mistyped(card) }))).toMatch(
        /^(invalid_card_number|contest_not_eligible)$/,
      );
      t.clock.advance(60_000);
    }
    // Blocked even with its own number: a guess that happens to be right must not get through.
    const refused = await t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: card }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'contest_throttled', details: { retryAfterSeconds: 300 } });
    expect(t.logs.find((l) => l.level === 'warn' && l.obj.account === a)).toMatchObject({ obj: { contestId: id, wrongNumbers: 5 } });
    expect(t.logs.filter((l) => l.level === 'info' && l.obj.account === a && l.msg.includes('wrong card number'))).toHaveLength(5);
    expect(JSON.stringify(t.logs)).not.toContain(card);
    expect(JSON.stringify(t.logs)).not.toContain(other);
    // Other accounts are not affected.
    const bystander = await t.entrant();
    expect(await codeOf(() => t.contests.enter({ contestId: id, channel: 'telegram', account: bystander.account, cardInput: mistyped(card) }))).toBe('invalid_card_number');

    t.clock.advance(5 * 60_000 - 1000);
    expect(await codeOf(() => t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: card }))).toBe('contest_throttled');
    t.clock.advance(2000);
    await t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: card });
    // A new window: a wrong number is answered as such again.
    expect(await codeOf(() => t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: mistyped(card) }))).toBe('invalid_card_number');
  });

  it('caps wrong numbers per contest from all accounts together; members with their own card still enter', async () => {
    const capped = await contestTest({ wrongCap: { max: 4, windowMs: 10 * 60_000 } });
    try {
      const id = await capped.contest();
      const victim = await capped.card();
      // Four accounts, each under its own throttle, guessing together.
      for (let i = 0; i < 4; i++) {
        const guesser = await capped.entrant();
        expect(await reasonOf(capped.contests.enter({ contestId: id, channel: 'telegram', account: guesser.account, cardInput: generateCardNumber('70') }))).toBe('contest_not_eligible:not_your_card');
      }
      const fifth = await capped.entrant();
      const refused = await capped.contests.enter({ contestId: id, channel: 'telegram', account: fifth.account, cardInput: victim }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'contest_throttled' });
      expect(capped.logs.some((l) => l.level === 'warn' && l.msg.includes('too many wrong numbers'))).toBe(true);
      // The cap does not stop anyone entering with their own card.
      expect(await reasonOf(capped.contests.enter({ contestId: id, channel: 'telegram', account: fifth.account, cardInput: fifth.card }))).toBe('entered');
      // Another contest has its own count.
      const other = await capped.contest();
      expect(await reasonOf(capped.contests.enter({ contestId: other, channel: 'telegram', account: (await capped.entrant()).account, cardInput: victim }))).toBe('contest_not_eligible:not_your_card');
    } finally {
      await capped.close();
    }
  });

  it('a Twitch account links itself with a code from the member\'s chat, then enters with the card number', async () => {
    const { card, memberId } = await t.entrant();
    const twitch = acct('twitch');
    const first = await t.contest();
    expect(await reasonOf(t.contests.enter({ contestId: first, channel: 'twitch', account: twitch, cardInput: card }))).toBe('contest_not_eligible:not_a_member');
    expect(await reasonOf(t.contests.enter({ contestId: first, channel: 'twitch', account: twitch, cardInput: 'TW-ABCD-EFGH' }))).toBe('contest_not_eligible:link_code');
    const { code } = await t.core.accountLinks.issue(memberId, 'twitch');
    expect(await reasonOf(t.contests.enter({ contestId: first, channel: 'twitch', account: twitch, cardInput: code.toLowerCase().replaceAll('-', ' ') }))).toBe('entered');
    expect(String((await t.core.members.findByIdentity(twitch))?._id)).toBe(memberId);
    // Spent: the code links nobody else.
    expect(await reasonOf(t.contests.enter({ contestId: await t.contest(), channel: 'twitch', account: acct('twitch'), cardInput: code }))).toBe('contest_not_eligible:link_code');
    expect(await reasonOf(t.contests.enter({ contestId: await t.contest(), channel: 'twitch', account: twitch, cardInput: card }))).toBe('entered');
    // The stored code is a hash, never the code.
    expect(JSON.stringify(await t.conn.collection('account_link_codes').find({}).toArray())).not.toContain(code.replaceAll('-', ''));
  });

  it('one entry per card under 20 concurrent attempts from the member\'s accounts, and from one account', async () => {
    const id = await t.contest();
    const { card, account } = await t.entrant();
    const accounts = [account, ...(await Promise.all(Array.from({ length: 19 }, () => t.accountOf(card))))];
    const results = await Promise.allSettled(accounts.map((a) => t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: card })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []))).toEqual(Array(19).fill('contest_card_taken'));
    expect(await t.contests.count(id)).toBe(1);

    const one = await t.entrant('vk');
    const same = await Promise.allSettled(Array.from({ length: 20 }, () => t.contests.enter({ contestId: id, channel: 'vk', account: one.account, cardInput: one.card })));
    expect(same.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(new Set(same.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : [])))).toEqual(new Set(['contest_already_entered']));
    expect(await t.contests.count(id)).toBe(2);
  });

  it('every refusal has a reply text in ru and en', async () => {
    const i18n = await createI18n();
    const id = await t.contest();
    const { account } = await t.entrant();
    const errors = await Promise.all([
      t.contests.enter({ contestId: id, channel: 'telegram', account, cardInput: 'x' }).catch((e: unknown) => e),
      t.contests.enter({ contestId: 'none', channel: 'telegram', account, cardInput: 'x' }).catch((e: unknown) => e),
      ...['not_a_member', 'not_your_card', 'link_code'].map(async (reason) => new DomainError('contest_not_eligible', 'x', { reason })),
    ]);
    for (const lang of ['ru', 'en'] as const) {
      for (const err of errors) {
        const reply = contestRefusalReply(err)!;
        expect(i18n.t(lang, reply.key, reply.options)).not.toBe(reply.key);
      }
    }
    const throttled = contestRefusalReply(new DomainError('contest_throttled', 'x', { retryAfterSeconds: 125 }))!;
    expect(i18n.t('ru', throttled.key, throttled.options)).toContain('3 минуты');
    expect(i18n.t('en', throttled.key, throttled.options)).toContain('3 minutes');
    const level = contestRefusalReply(new DomainError('contest_not_eligible', 'x', { reason: 'min_level', minLevel: 'Серебряный' }))!;
    expect(i18n.t('ru', level.key, level.options)).toContain('«Серебряный»');
    expect(contestRefusalReply(new Error('boom'))).toBeNull();
    expect(contestRefusalReply(new DomainError('phone_invalid'))).toBeNull();
  });
});
