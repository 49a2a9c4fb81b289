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

describe('contest entry', () => {
  let t: ContestTest;
  beforeAll(async () => {
    t = await contestTest();
  });
  afterAll(async () => {
    await t.close();
  });

  it('enters a card once and answers its public entry id', async () => {
    const id = await t.contest();
    const card = await t.card();
    const r = await t.contests.enter({ contestId: id, channel: 'telegram', account: acct(), cardInput: `${card.slice(0, 4)} ${card.slice(4)}` });
    expect(r).toMatchObject({ entryId: expect.stringMatching(/^[0-9a-f]{32}$/), masked: expect.stringContaining('•'), contest: { id } });
    expect(r.masked.endsWith(card.slice(-4))).toBe(true);
    expect(await t.contests.count(id)).toBe(1);
  });

  it('refuses each case with its own code', async () => {
    const id = await t.contest({ channels: ['telegram', 'vk'] });
    const card = await t.card();
    const a = acct();
    const enter = (cardInput: string, account = a, channel: 'telegram' | 'vk' | 'twitch' = 'telegram', contestId = id) =>
      codeOf(() => t.contests.enter({ contestId, channel, account, cardInput }));

    expect(await enter(mistyped(card))).toBe('invalid_card_number');
    expect(await enter('hello')).toBe('invalid_card_number');
    expect(await enter(generateCardNumber('70'))).toBe('card_not_found');
    const blocked = await t.card();
    await t.core.cards.setStatus(blocked, 'blocked');
    expect(await enter(blocked, acct())).toBe('card_blocked');
    expect(await enter(card, acct(), 'telegram', 'nope')).toBe('contest_not_found');
    expect(await enter(card, acct('twitch'), 'twitch')).toBe('contest_not_open');

    await t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: card });
    expect(await enter(card)).toBe('contest_already_entered');
    expect(await enter(await t.card())).toBe('contest_already_entered');
    expect(await enter(card, acct('vk'), 'vk')).toBe('contest_card_taken');

    const later = await t.contest({ opensAt: new Date(t.clock.now().getTime() + 3600_000) });
    expect(await enter(card, acct(), 'telegram', later)).toBe('contest_not_open');
    const closed = await t.contest();
    await t.contests.close(closed);
    expect(await enter(card, acct(), 'telegram', closed)).toBe('contest_not_open');
    await expect(t.contests.enter({ contestId: id, channel: 'telegram', account: 'vk:1', cardInput: card })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('checks eligibility: minimum level (pinned levels count, staff does not) and joined-before date', async () => {
    const silver = await t.contest({ minLevel: 'silver' });
    const base = await t.card();
    const staff = await t.card();
    await t.core.ledger.setLevel({ card: staff, levelId: 'staff', author: 'test' });
    const gold = await t.card();
    await t.core.ledger.setLevel({ card: gold, levelId: 'gold', author: 'test' });
    const refusal = await t.contests.enter({ contestId: silver, channel: 'vk', account: acct('vk'), cardInput: base }).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ code: 'contest_not_eligible', details: { reason: 'min_level', minLevel: 'silver' } });
    expect(await codeOf(() => t.contests.enter({ contestId: silver, channel: 'vk', account: acct('vk'), cardInput: staff }))).toBe('contest_not_eligible');
    await t.contests.enter({ contestId: silver, channel: 'vk', account: acct('vk'), cardInput: gold });

    const veterans = await t.contest({ joinedBefore: new Date(t.clock.now().getTime() + 1000) });
    const old = await t.card();
    t.clock.advance(5000);
    const fresh = await t.card();
    await t.contests.enter({ contestId: veterans, channel: 'telegram', account: acct(), cardInput: old });
    const late = await t.contests.enter({ contestId: veterans, channel: 'telegram', account: acct(), cardInput: fresh }).catch((e: unknown) => e);
    expect(late).toMatchObject({ code: 'contest_not_eligible', details: { reason: 'joined_after' } });

    await expect(t.contest({ minLevel: 'staff' })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('throttles wrong numbers per account: the 6th within 10 minutes is refused and logged, allowed after the window', async () => {
    const id = await t.contest();
    const a = acct();
    const card = await t.card();
    for (let i = 0; i < 5; i++) {
      expect(await codeOf(() => t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: i % 2 ? generateCardNumber('71') : mistyped(card) }))).toMatch(
        /^(invalid_card_number|card_not_found)$/,
      );
      t.clock.advance(60_000);
    }
    // Blocked even with a real number: a guess that happens to be right must not get through.
    const refused = await t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: card }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'contest_throttled', details: { retryAfterSeconds: 300 } });
    expect(t.logs.find((l) => l.level === 'warn' && l.obj.account === a)).toMatchObject({ obj: { contestId: id, wrongNumbers: 5 } });
    expect(t.logs.filter((l) => l.level === 'info' && l.obj.account === a && l.msg.includes('wrong card number'))).toHaveLength(5);
    expect(JSON.stringify(t.logs)).not.toContain(card);
    // Other accounts are not affected.
    expect(await codeOf(() => t.contests.enter({ contestId: id, channel: 'telegram', account: acct(), cardInput: mistyped(card) }))).toBe('invalid_card_number');

    t.clock.advance(5 * 60_000 - 1000);
    expect(await codeOf(() => t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: card }))).toBe('contest_throttled');
    t.clock.advance(2000);
    await t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: card });
    // A new window: a wrong number is answered as such again.
    expect(await codeOf(() => t.contests.enter({ contestId: id, channel: 'telegram', account: a, cardInput: mistyped(card) }))).toBe('invalid_card_number');
  });

  it('one entry per card under 20 concurrent attempts from different accounts, and from one account', async () => {
    const id = await t.contest();
    const card = await t.card();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => t.contests.enter({ contestId: id, channel: 'telegram', account: acct(), cardInput: card })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []))).toEqual(Array(19).fill('contest_card_taken'));
    expect(await t.contests.count(id)).toBe(1);

    const a = acct('vk');
    const cards = await Promise.all(Array.from({ length: 5 }, () => t.card()));
    const same = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => t.contests.enter({ contestId: id, channel: 'vk', account: a, cardInput: cards[i % 5]! })),
    );
    expect(same.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(new Set(same.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : [])))).toEqual(new Set(['contest_already_entered']));
    expect(await t.contests.count(id)).toBe(2);
  });

  it('every refusal has a reply text in ru and en', async () => {
    const i18n = await createI18n();
    const id = await t.contest();
    const errors = await Promise.all([
      t.contests.enter({ contestId: id, channel: 'telegram', account: acct(), cardInput: 'x' }).catch((e: unknown) => e),
      t.contests.enter({ contestId: 'none', channel: 'telegram', account: acct(), cardInput: 'x' }).catch((e: unknown) => e),
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
