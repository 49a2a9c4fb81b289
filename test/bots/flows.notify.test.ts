import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../core/events/event.types.js';
import type { Sender } from '../../bots/flows/flow.types.js';
import { newMember, testPhone } from '../helpers/core.js';
import { flowsEnv, join, ruNumber, sender, type FlowsEnv } from './flows.helpers.js';

describe('flows: notifications from domain events', () => {
  let env: FlowsEnv;
  beforeAll(async () => {
    env = await flowsEnv();
  });
  afterAll(async () => {
    await env.close();
  });

  async function member(lang = 'ru', channel: Sender['channel'] = 'telegram') {
    const who = sender(channel, lang);
    const phone = testPhone();
    await join(env.flows, who, phone, 'Анна');
    const m = (await env.t.core.members.findByIdentity(`${channel}:${who.userId}`))!;
    return { who, m, phone, card: m.cardNumber! };
  }

  /** Every event the ledger handed over so far for one card (taken: the next call sees only newer ones). */
  async function eventsFor(card: string): Promise<DomainEvent[]> {
    return Promise.resolve(env.t.events.take(card));
  }
  /** The points.changed event of an operation ('purchase', 'welcome', 'referral', …). */
  const pointsEvent = (events: DomainEvent[], operation: string) => events.find((e) => e.type === 'points.changed' && e.data.operation === operation)!;
  let receipt = 0;
  const purchase = (card: string, totalKopecks: number, redeemPoints = 0) =>
    env.t.core.purchases.purchase({ storeId: 's1', receiptId: `n-${++receipt}`, cardNumber: card, totalKopecks, redeemPoints });

  it('a purchase reaches the member\'s chat in Russian with the right plural', async () => {
    const { who, card } = await member('ru');
    await purchase(card, 190_000);
    const notes = await env.flows.notification(pointsEvent(await eventsFor(card), 'purchase'));
    expect(notes).toEqual([{ channel: 'telegram', userId: who.userId, replies: [{ text: `+57 баллов за покупку, баланс ${ruNumber(1057)}` }] }]);
  });

  it('and in English for an English-speaking member', async () => {
    const { who, card } = await member('en', 'vk');
    await purchase(card, 190_000);
    const notes = await env.flows.notification(pointsEvent(await eventsFor(card), 'purchase'));
    // A VK member's typed number earned no welcome bonus yet.
    expect(notes).toEqual([{ channel: 'vk', userId: who.userId, replies: [{ text: '+57 points for a purchase, balance 57' }] }]);
  });

  it('redemption, one point, and every linked chat', async () => {
    const { who, card, phone } = await member('ru');
    const console = sender('console', 'en');
    await env.flows.handle(console, { kind: 'start' });
    // The terminal's /contact is the operator's own proof (a typed number would need a code).
    await env.flows.handle(console, { kind: 'contact', phone, own: true });
    // 100 ₽ paid in full with points: nothing to accrue on.
    await purchase(card, 10_000, 100);
    await env.t.core.ledger.apply({ key: `one:${card}`, card, type: 'adjustment', effect: 'credit', points: 1 });
    const events = await eventsFor(card);
    const redeem = await env.flows.notification(pointsEvent(events, 'purchase'));
    expect(redeem.map((n) => [n.channel, n.userId]).sort()).toEqual(
      [
        ['console', console.userId],
        ['telegram', who.userId],
      ].sort(),
    );
    expect(redeem[0]!.replies[0]!.text).toBe('−100 баллов списано в оплату покупки, баланс 900');
    const one = await env.flows.notification(pointsEvent(events, 'adjustment'));
    expect(one[0]!.replies[0]!.text).toBe('+1 балл начислен, баланс 901');
  });

  it('a purchase that paid with points and earned some tells both, each with the balance after it', async () => {
    const { who, card } = await member('ru');
    // 2,000 ₽ paying 300 points: 1,700 ₽ × 3% = 51 points.
    await purchase(card, 200_000, 300);
    const [note] = await env.flows.notification(pointsEvent(await eventsFor(card), 'purchase'));
    expect(note).toEqual({
      channel: 'telegram',
      userId: who.userId,
      replies: [{ text: `−300 баллов списано в оплату покупки, баланс 700\n+51 балл за покупку, баланс 751` }],
    });
  });

  it('nothing for a member who turned notifications off', async () => {
    const { who, card } = await member('ru');
    await env.flows.handle(who, { kind: 'action', action: 'notifications', arg: 'off' });
    await purchase(card, 190_000);
    const events = await eventsFor(card);
    expect(await env.flows.notification(pointsEvent(events, 'purchase'))).toEqual([]);
  });

  it('a level up is congratulated', async () => {
    const { card } = await member('ru');
    await purchase(card, 600_000);
    const level = (await eventsFor(card)).find((e) => e.type === 'level.changed')!;
    const [note] = await env.flows.notification(level);
    expect(note!.replies[0]!.text).toBe('🎉 Поздравляем! Ваш новый уровень — <b>Серебряный</b>: теперь 5% от покупок возвращается баллами.');
  });

  it('the welcome bonus told in the join answer is not told twice; the inviter hears of the friend', async () => {
    const inviter = await member('ru');
    const friend = sender('telegram', 'ru');
    await join(env.flows, friend, testPhone(), 'Олег', `ref_${inviter.m.referralCode}`);
    const friendCard = (await env.t.core.members.findByIdentity(`telegram:${friend.userId}`))!.cardNumber!;
    const all: DomainEvent[] = env.t.events.take();
    const friendEvents = all.filter((e) => e.card === friendCard);
    expect(await env.flows.notification(pointsEvent(friendEvents, 'welcome'))).toEqual([]);
    expect(await env.flows.notification(pointsEvent(friendEvents, 'referral'))).toEqual([]);
    const [toInviter] = await env.flows.notification(pointsEvent(all.filter((e) => e.card === inviter.card), 'referral'));
    expect(toInviter!.replies[0]!.text).toBe(`+${ruNumber(3000)} баллов: друг присоединился по вашей ссылке, баланс ${ruNumber(4000)}`);
  });

  it('a member who joined at the till and linked a chat hears of the welcome bonus there', async () => {
    const { member: m, card } = await newMember(env.t.core, { channel: 'till' });
    const who = sender('telegram', 'ru');
    await env.flows.handle(who, { kind: 'start' });
    await env.flows.handle(who, { kind: 'contact', phone: m.phone, own: true });
    const [note] = await env.flows.notification(pointsEvent(await eventsFor(card._id), 'welcome'));
    expect(note).toEqual({ channel: 'telegram', userId: who.userId, replies: [{ text: `+${ruNumber(1000)} баллов — приветственный бонус, баланс ${ruNumber(1000)}` }] });
  });

  it('nothing for a card without a member or an erased member', async () => {
    const { who, card } = await member('ru');
    await purchase(card, 190_000);
    const accrual = pointsEvent(await eventsFor(card), 'purchase');
    expect(await env.flows.notification({ ...accrual, memberId: null })).toEqual([]);
    await env.flows.handle(who, { kind: 'action', action: 'erase_confirm', arg: 'yes' });
    expect(await env.flows.notification(accrual)).toEqual([]);
  });
});
