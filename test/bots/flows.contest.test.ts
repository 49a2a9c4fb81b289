import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../../core/cards/card-number.js';
import type { Sender } from '../../bots/flows/flow.types.js';
import { newMember, testPhone } from '../helpers/core.js';
import { flowsEnv, inlineButtons, join, keyboardOf, sender, textOf, type FlowsEnv } from './flows.helpers.js';

const ENTRY_ID = /Ваш номер участия: <code>([0-9a-f]{32})<\/code>/;
const REFUSED = {
  malformed: 'Номер карты указан с ошибкой',
  notYours: 'Участвовать можно только со своей картой',
  notMember: 'Участвовать могут участники бонусной программы',
  already: 'Вы уже участвуете в этом розыгрыше',
  notOpen: 'Этот розыгрыш сейчас не принимает участников',
  taken: 'С этой картой в розыгрыше уже участвует другой аккаунт',
};

describe('flows: contests', () => {
  let env: FlowsEnv;
  beforeAll(async () => {
    env = await flowsEnv();
  });
  afterAll(async () => {
    await env.close();
  });

  const contest = async (title = 'Сертификат на 3 000 ₽', extra: { opensAt?: Date } = {}): Promise<string> => {
    const { id } = await env.t.core.contests.create({ title, description: 'Три приза <для всех>', prizes: 2, channels: ['telegram', 'vk'], closesAt: new Date('2026-04-01T00:00:00Z'), ...extra });
    return id;
  };
  /** A member's card number (a member at the till: not linked to any chat). */
  const card = async (): Promise<string> => (await newMember(env.t.core)).card._id;
  /** A member who joined in this chat, and their card. */
  const memberIn = async (channel: Sender['channel'] = 'telegram', lang = 'ru'): Promise<{ who: Sender; number: string }> => {
    const who = sender(channel, lang);
    await join(env.flows, who, testPhone(), 'Участник');
    return { who, number: (await env.t.core.members.findByIdentity(`${channel}:${who.userId}`))!.cardNumber! };
  };
  /** A well-formed number (Luhn ok) of no card. */
  const unknownCard = (real: string): string => {
    const i = real.length - 3;
    const body = `${real.slice(0, i)}${(Number(real.charAt(i)) + 1) % 10}${real.slice(i + 1, -1)}`;
    return body + String(luhnCheckDigit(body));
  };
  const say = (who: Sender, text: string) => env.flows.handle(who, { kind: 'text', text });
  const start = (who: Sender, payload?: string) => env.flows.handle(who, { kind: 'start', payload });
  const entryIds = async (id: string): Promise<string[]> => (await env.t.core.contests.publicEntries(id)).entries.map((e) => e.id);

  it('a member enters with their own card through the contest_<id> link; a non-member is told to join first', async () => {
    const id = await contest();
    const { who, number } = await memberIn();

    const ask = await start(who, `contest_${id}`);
    expect(textOf(ask)).toContain('<b>Сертификат на 3 000 ₽</b>');
    expect(textOf(ask)).toContain('Три приза &lt;для всех&gt;');
    expect(textOf(ask)).toContain('напишите номер вашей карты лояльности');

    const done = await say(who, number.replace(/(\d{4})/g, '$1 '));
    const entryId = ENTRY_ID.exec(textOf(done))?.[1];
    expect(entryId).toBeDefined();
    expect(textOf(done)).toContain('Готово! Вы участвуете в розыгрыше «Сертификат на 3 000 ₽»');
    expect(await entryIds(id)).toEqual([entryId]);

    // Not a member: nothing to type a number for.
    const stranger = sender('telegram', 'ru');
    const told = await start(stranger, `contest_${id}`);
    expect(textOf(told)).toContain(REFUSED.notMember);
    expect(textOf(await say(stranger, await card()))).toContain('Здравствуйте');
    expect(await entryIds(id)).toEqual([entryId]);
  });

  it("someone else's card is refused, and its holder still enters with it (the card is not taken)", async () => {
    const id = await contest();
    const holder = await memberIn();
    const thief = await memberIn('vk');
    await start(thief.who, `contest_${id}`);
    const refused = await say(thief.who, holder.number);
    expect(textOf(refused)).toContain(REFUSED.notYours);
    expect(await entryIds(id)).toEqual([]);
    await start(holder.who, `contest_${id}`);
    expect(textOf(await say(holder.who, holder.number))).toMatch(ENTRY_ID);
  });

  it('works from VK too, and the member keeps the menu', async () => {
    const id = await contest();
    const who = sender('vk', 'en');
    await join(env.flows, who, testPhone(), 'Tom');
    const number = (await env.t.core.members.findByIdentity(`vk:${who.userId}`))!.cardNumber!;
    expect(textOf(await start(who, `contest_${id}`))).toContain('send us your loyalty card number');
    const done = await say(who, number);
    expect(textOf(done)).toMatch(/Your entry number: <code>[0-9a-f]{32}<\/code>/);
    expect(keyboardOf(done)?.kind).toBe('menu');
    expect((await env.t.core.contests.publicEntries(id)).entries).toHaveLength(1);
  });

  it('a wrong number keeps the step: malformed, then someone else\'s or none, then their own one enters', async () => {
    const id = await contest();
    const { who, number } = await memberIn();
    await start(who, `contest_${id}`);

    const malformed = await say(who, '1234 5678');
    expect(textOf(malformed)).toContain(REFUSED.malformed);
    expect(textOf(malformed)).toContain('/cancel');
    const luhn = await say(who, `${number.slice(0, -1)}${(Number(number.slice(-1)) + 1) % 10}`);
    expect(textOf(luhn)).toContain(REFUSED.malformed);
    // A number of no card and a card of someone else's: one answer, so it tells nothing about the number.
    const unknown = await say(who, unknownCard(number));
    const others = await say(who, await card());
    expect(textOf(unknown)).toContain(REFUSED.notYours);
    expect(textOf(others)).toBe(textOf(unknown));

    const done = await say(who, number);
    expect(textOf(done)).toMatch(ENTRY_ID);
    expect(await entryIds(id)).toHaveLength(1);
  });

  it('already entered, card taken by another account of the member, not open: each its own text', async () => {
    const id = await contest();
    const { who: first, number } = await memberIn();
    await start(first, `contest_${id}`);
    expect(textOf(await say(first, number))).toMatch(ENTRY_ID);

    // The same account again: already entered, and the step ends.
    await start(first, `contest_${id}`);
    const again = await say(first, number);
    expect(textOf(again)).toContain(REFUSED.already);
    expect(textOf(await say(first, number))).toContain('Не совсем понял вас');

    // The member's VK account with the same card: taken (one card, one entry).
    const second = sender('vk', 'ru');
    const member = (await env.t.core.members.findByIdentity(`telegram:${first.userId}`))!;
    await env.t.core.members.linkIdentity(String(member._id), `vk:${second.userId}`);
    await start(second, `contest_${id}`);
    expect(textOf(await say(second, number))).toContain(REFUSED.taken);
    expect(await entryIds(id)).toHaveLength(1);

    // Not open yet: said at once, no step.
    const later = await contest('Весенний', { opensAt: new Date('2026-03-10T00:00:00Z') });
    expect(textOf(await start(first, `contest_${later}`))).toContain(REFUSED.notOpen);
    // Closed while someone is typing their number: refused when the number comes.
    const closing = await contest('Закрывается');
    const { who: third, number: thirds } = await memberIn();
    await start(third, `contest_${closing}`);
    await env.t.core.contests.close(closing, 'Тест');
    expect(textOf(await say(third, thirds))).toContain(REFUSED.notOpen);
    expect(await entryIds(closing)).toEqual([]);
    // Unknown contest.
    expect(textOf(await start(third, 'contest_0123456789abcdef01234567'))).toContain('Такой розыгрыш не найден');
  });

  it('cancel and menu buttons leave the step; /contests lists open contests with a button that starts it', async () => {
    const id = await contest('Кофемашина');
    const who = sender('telegram', 'ru');
    await join(env.flows, who, testPhone());
    await start(who, `contest_${id}`);
    expect(textOf(await say(who, 'отмена'))).toContain('Хорошо, отменили');
    expect(textOf(await say(who, '1234'))).toContain('Не совсем понял вас');

    const list = await say(who, '/contests');
    expect(textOf(list)).toContain('Кофемашина');
    const button = inlineButtons(list).find((b) => b.arg === id);
    expect(button).toMatchObject({ action: 'contest', label: 'Кофемашина' });
    expect(textOf(await env.flows.handle(who, { kind: 'action', action: 'contest', arg: id }))).toContain('«Кофемашина»');
    const balance = await env.flows.handle(who, { kind: 'action', action: 'balance' });
    expect(textOf(balance)).toContain('балл');
    expect(textOf(await say(who, '1234'))).toContain('Не совсем понял вас');
    expect(await entryIds(id)).toEqual([]);
  });

  it('a contest the core refuses is explained in the admin\'s language, not in the core\'s English', async () => {
    const ru = sender('telegram', 'ru');
    await join(env.flows, ru, testPhone(), 'Админ');
    const en = sender('telegram', 'en');
    await join(env.flows, en, testPhone(), 'Admin');
    for (const who of [ru, en]) {
      const member = (await env.t.core.members.findByIdentity(`telegram:${who.userId}`))!;
      await env.t.core.members.update(String(member._id), { roles: ['admin'] });
    }
    const before = (await env.t.core.contests.list({ limit: 200 })).length;
    const tooMany = textOf(await say(ru, '/contest_new 2026-03-20 2000 Приз'));
    expect(tooMany).toContain('Розыгрыш не создан: призов — от 1 до 1000.');
    expect(tooMany).not.toContain('must be');
    expect(textOf(await say(ru, '/contest_new 2026-02-01 1 Приз'))).toContain('Розыгрыш не создан: закрытие должно быть позже начала.');
    expect(textOf(await say(en, `/contest_new 2026-03-20 1 ${'x'.repeat(121)}`))).toContain('The giveaway was not created: the title must be 1 to 120 characters.');
    expect(await env.t.core.contests.list({ limit: 200 })).toHaveLength(before);
  });

  it('an admin creates a contest from the chat, sees the live count, closes and draws it', async () => {
    const admin = sender('telegram', 'ru');
    await join(env.flows, admin, testPhone(), 'Админ');
    const member = (await env.t.core.members.findByIdentity(`telegram:${admin.userId}`))!;
    await env.t.core.members.update(String(member._id), { roles: ['admin'] });

    expect(textOf(await env.flows.handle(admin, { kind: 'action', action: 'help' }))).toContain('/contest_new');
    expect(textOf(await say(admin, '/contest_new завтра 3 Приз'))).toContain('Дата закрытия');
    expect(textOf(await say(admin, '/contest_new'))).toContain('Формат: /contest_new');

    const created = await say(admin, '/contest_new 2026-03-20 2 Сертификат <3000> | Пишите номер карты');
    const text = textOf(created);
    expect(text).toContain('Розыгрыш «Сертификат &lt;3000&gt;» создан');
    const id = /start=contest_([0-9a-f]+)/.exec(text)?.[1];
    expect(id).toBeDefined();
    expect(text).toContain(`https://vk.me/shop?ref=contest_${id}`);
    const record = await env.t.core.contests.publicRecord(id!);
    expect(text).toContain(record.commitment);
    expect(record).toMatchObject({ title: 'Сертификат <3000>', description: 'Пишите номер карты', prizes: 2, closesAt: '2026-03-20T23:59:59.999Z', status: 'open' });

    for (const n of [1, 2, 3]) {
      const { who, number } = await memberIn(n === 2 ? 'vk' : 'telegram');
      await start(who, `contest_${id}`);
      expect(textOf(await say(who, number))).toMatch(ENTRY_ID);
    }

    // Open: it closes by itself at its published time; no Close or Draw button, only the early-close command.
    const list = await say(admin, '/contests');
    const mine = list.find((r) => r.text.includes(id!))!;
    expect(mine.text).toContain('3 участника');
    expect(mine.text).toContain('идёт приём заявок');
    expect(mine.text).toContain(`/contest_close ${id}`);
    expect(mine.keyboard?.kind).toBe('menu');
    expect(textOf(await env.flows.handle(admin, { kind: 'action', action: 'contest_draw', arg: id }))).toContain('разыграть его можно после закрытия');
    expect(textOf(await env.flows.handle(admin, { kind: 'action', action: 'contest_close', arg: id }))).toContain('Формат: /contest_close');
    expect(textOf(await say(admin, `/contest_close ${id}`))).toContain('Формат: /contest_close');
    expect((await env.t.core.contests.publicRecord(id!)).status).toBe('open');

    const closed = await say(admin, `/contest_close ${id} Приз <закончился>`);
    const sealed = await env.t.core.contests.publicRecord(id!);
    expect(sealed.closeReason).toBe('Приз <закончился>');
    expect(textOf(closed)).toContain('Приём заявок в розыгрыш «Сертификат &lt;3000&gt;» закрыт');
    expect(textOf(closed)).toContain('Причина досрочного закрытия (опубликована): Приз &lt;закончился&gt;');
    expect(textOf(closed)).toContain(sealed.entriesDigest!);
    expect(inlineButtons(closed).map((b) => b.action)).toEqual(['contest_draw']);

    const drawn = await env.flows.handle(admin, { kind: 'action', action: 'contest_draw', arg: id });
    const final = await env.t.core.contests.publicRecord(id!);
    expect(final.status).toBe('drawn');
    const out = textOf(drawn);
    expect(out).toContain('Победители розыгрыша');
    for (const w of final.winners!) expect(out).toContain(`${w.place}. ${w.masked}`);
    expect(final.winners).toHaveLength(2);
    expect(out).toContain(final.seed!);
    expect(out).toContain(final.commitment);
    expect(out).toContain(final.entriesDigest!);
    // Repeating shows the same result.
    expect(textOf(await env.flows.handle(admin, { kind: 'action', action: 'contest_draw', arg: id }))).toBe(out);
  });

  it('a non-admin gets the unknown-command answer and changes nothing; no admin hint in help', async () => {
    const id = await contest('Чужой');
    const who = sender('telegram', 'ru');
    await join(env.flows, who, testPhone());
    const before = (await env.t.core.contests.list({ limit: 200 })).length;

    expect(textOf(await say(who, '/contest_new 2026-03-20 1 Мой розыгрыш'))).toContain('Не совсем понял вас');
    expect(textOf(await env.flows.handle(who, { kind: 'action', action: 'contest_close', arg: id }))).toContain('Не совсем понял вас');
    expect(textOf(await env.flows.handle(who, { kind: 'action', action: 'contest_draw', arg: id }))).toContain('Не совсем понял вас');
    expect((await env.t.core.contests.list({ limit: 200 })).length).toBe(before);
    expect((await env.t.core.contests.publicRecord(id)).status).toBe('open');
    expect(textOf(await env.flows.handle(who, { kind: 'action', action: 'help' }))).not.toContain('/contest_new');
    // /contests is the members' list, without counts or admin buttons.
    const list = await say(who, '/contests');
    expect(inlineButtons(list).every((b) => b.action === 'contest')).toBe(true);
    expect(textOf(list)).not.toContain('участник');
    // A non-member typing an admin command just gets the join.
    expect(textOf(await say(sender('telegram', 'ru'), '/contest_new 2026-03-20 1 X'))).toContain('Здравствуйте');
  });
});
