import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderError } from '../../bots/flows/errors.render.js';
import { newMember, testPhone } from '../helpers/core.js';
import { flowsEnv, inlineButtons, join, keyboardOf, POLICY_URL, ruNumber, sender, textOf, type FlowsEnv } from './flows.helpers.js';

describe('flows: joining', () => {
  let env: FlowsEnv;
  beforeAll(async () => {
    env = await flowsEnv();
  });
  afterAll(async () => {
    await env.close();
  });

  const members = () => env.t.conn.collection('members');

  it('joins in Russian: phone button → name → consent → card with the welcome bonus and the menu', async () => {
    const { flows, t } = env;
    const who = sender('telegram', 'ru', 'Анна');
    const phone = testPhone();

    const hello = await flows.handle(who, { kind: 'start' });
    expect(textOf(hello)).toContain('Здравствуйте, Анна!');
    expect(textOf(hello)).toContain(`${ruNumber(1000)} баллов`);
    expect(keyboardOf(hello)).toEqual({ kind: 'contact', label: '📱 Поделиться номером' });

    const askName = await flows.handle(who, { kind: 'contact', phone, own: true });
    expect(textOf(askName)).toContain('Как к вам обращаться?');
    expect(keyboardOf(askName)).toEqual({ kind: 'remove' });

    const consent = await flows.handle(who, { kind: 'text', text: '  Анна  ' });
    expect(textOf(consent)).toContain('согласие на обработку персональных данных');
    expect(textOf(consent)).toContain(`<a href="${POLICY_URL}">`);
    expect(textOf(consent)).toContain('2026-01');
    expect(inlineButtons(consent).map((b) => [b.action, b.arg ?? b.url])).toEqual([
      ['consent', 'yes'],
      ['consent', 'no'],
      ['policy', POLICY_URL],
    ]);

    const done = await flows.handle(who, { kind: 'action', action: 'consent', arg: 'yes' });
    const member = await t.core.members.findByIdentity(`telegram:${who.userId}`);
    expect(member).toMatchObject({ name: 'Анна', language: 'ru', phone, joinedVia: 'telegram', consent: { version: '2026-01' } });
    const card = await t.core.cards.byNumber(member!.cardNumber!);
    expect(card!.balance).toBe(1000);
    expect(textOf(done)).toContain(`<code>${card!._id}</code>`);
    expect(textOf(done)).toContain(`Приветственный бонус: <b>+${ruNumber(1000)} баллов</b>`);
    // Then, as a choice of its own, whether offers may come here; nothing is assumed.
    expect(done).toHaveLength(2);
    expect(done[1]?.text).toContain('акции');
    expect(inlineButtons(done.slice(1)).map((b) => [b.action, b.arg])).toEqual([
      ['marketing', 'yes'],
      ['marketing', 'no'],
    ]);
    expect(member?.optIn).toEqual({});
    const menu = keyboardOf(done.slice(0, 1));
    expect(menu?.kind).toBe('menu');
    expect(menu?.kind === 'menu' && menu.rows.flat().map((b) => b.action)).toEqual(['balance', 'card', 'history', 'invite', 'settings', 'help', 'partners']);
    expect(menu?.kind === 'menu' && menu.rows.flat().map((b) => b.label)).toContain('💰 Баланс');
  });

  it('joins in English when the chat speaks English, and the member keeps English', async () => {
    const { flows, t } = env;
    const who = sender('telegram', 'en-GB', 'Tom');
    const hello = await flows.handle(who, { kind: 'start' });
    expect(textOf(hello)).toContain('Hello, Tom!');
    expect(textOf(hello)).toContain('1,000 points');
    expect(keyboardOf(hello)).toEqual({ kind: 'contact', label: '📱 Share my phone number' });
    expect(textOf(await flows.handle(who, { kind: 'contact', phone: testPhone(), own: true }))).toContain('What should we call you?');
    const consent = await flows.handle(who, { kind: 'text', text: 'Tom' });
    expect(textOf(consent)).toContain('consent to the processing of your personal data');
    expect(inlineButtons(consent).map((b) => b.label)).toEqual(['✅ I agree', 'Decline', '📄 Personal data policy']);
    const done = await flows.handle(who, { kind: 'action', action: 'consent', arg: 'yes' });
    expect(textOf(done)).toContain('Welcome to the programme, Tom!');
    expect(textOf(done)).toContain('Welcome bonus: <b>+1,000 points</b>');
    expect(inlineButtons(done).map((b) => b.label)).toEqual(['✅ Yes, send them', 'No, thanks']);
    const menu = keyboardOf(done.slice(0, 1));
    expect(menu?.kind === 'menu' && menu.rows.flat().map((b) => b.label)).toEqual(['💰 Balance', '💳 My card', '📜 History', '🎁 Invite a friend', '⚙️ Settings', '❓ Help', '🏬 Where the card works']);
    const member = await t.core.members.findByIdentity(`telegram:${who.userId}`);
    expect(member?.language).toBe('en');
    expect(await flows.languageOf(who)).toBe('en');
  });

  it('refuses a contact that is not the sender\'s own and creates nothing', async () => {
    const who = sender('telegram');
    const phone = testPhone();
    await env.flows.handle(who, { kind: 'start' });
    const before = await members().countDocuments();
    const r = await env.flows.handle(who, { kind: 'contact', phone, own: false });
    expect(textOf(r)).toContain('Это не ваш номер');
    expect(keyboardOf(r)?.kind).toBe('contact');
    expect(await members().countDocuments()).toBe(before);
    expect(await env.t.core.members.findByPhone(phone)).toBeNull();
    // Still waiting for the phone: a typed number on Telegram is not taken either.
    const typed = await env.flows.handle(who, { kind: 'text', text: phone });
    expect(textOf(typed)).toContain('нажмите кнопку «📱 Поделиться номером»');
    expect(await env.t.core.members.findByPhone(phone)).toBeNull();
  });

  it('takes a typed phone in the terminal chat and answers a bad one with the localized error', async () => {
    const who = sender('console', 'ru');
    const hello = await env.flows.handle(who, { kind: 'start' });
    expect(textOf(hello)).toContain('напишите ваш номер телефона');
    const bad = await env.flows.handle(who, { kind: 'text', text: '12345' });
    expect(textOf(bad)).toBe(env.i18n.t('ru', 'common:errors.phone_invalid'));
    expect(keyboardOf(bad)?.kind).toBe('contact');
    // A typed number proves nothing: the answer is the same whoever holds it, then the name.
    const ok = await env.flows.handle(who, { kind: 'text', text: '8 (999) 555-01-23' });
    expect(textOf(ok)).toContain('Если этот номер уже участвует в программе');
    expect(textOf(ok)).toContain('напишите, как к вам обращаться');
    expect(textOf(await env.flows.handle(who, { kind: 'text', text: 'Лена' }))).toContain('остался последний шаг');
  });

  it('links a phone that is already a member to this chat, without a second card', async () => {
    const { t, flows } = env;
    const existing = await newMember(t.core, { channel: 'till' });
    const who = sender('telegram', 'en');
    await flows.handle(who, { kind: 'start' });
    const r = await flows.handle(who, { kind: 'contact', phone: existing.member.phone, own: true });
    // The member's own language (ru) wins over the chat's.
    expect(textOf(r)).toContain('С возвращением, Анна!');
    expect(textOf(r)).toContain(existing.card._id);
    expect(keyboardOf(r)?.kind).toBe('menu');
    const linked = await t.core.members.findByIdentity(`telegram:${who.userId}`);
    expect(String(linked?._id)).toBe(String(existing.member._id));
    expect(await t.conn.collection('cards').countDocuments({ memberId: String(existing.member._id) })).toBe(1);
    expect((await t.core.cards.byNumber(existing.card._id))?.balance).toBe(1000);
  });

  it('an account already linked to another member is refused with its own code, in the person\'s language', async () => {
    const who = sender('telegram', 'en');
    await join(env.flows, who, testPhone(), 'Ann');
    const other = await newMember(env.t.core);
    const err: unknown = await env.t.core.members.linkIdentity(String(other.member._id), `telegram:${who.userId}`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'account_linked_elsewhere' });
    expect(renderError(env.i18n, 'en', err)?.text).toBe("This account is already linked to another member's card. If that card is yours, please contact the store.");
    expect(renderError(env.i18n, 'ru', err)?.text).toBe('Этот аккаунт уже привязан к карте другого участника. Если это ваша карта, обратитесь в магазин.');
    expect((await env.t.core.members.findByIdentity(`telegram:${who.userId}`))?.name).toBe('Ann');
  });

  it('continues a join after a restart, on a new flows instance', async () => {
    const who = sender('telegram', 'ru');
    const phone = testPhone();
    await env.flows.handle(who, { kind: 'start' });
    await env.flows.handle(who, { kind: 'contact', phone, own: true });

    const restarted = await env.restart();
    const consent = await restarted.handle(who, { kind: 'text', text: 'Борис' });
    expect(textOf(consent)).toContain('Борис, остался последний шаг');

    const again = await env.restart();
    const done = await again.handle(who, { kind: 'action', action: 'consent', arg: 'yes' });
    expect(textOf(done)).toContain('Добро пожаловать в программу, Борис!');
    expect((await env.t.core.members.findByPhone(phone))?.name).toBe('Борис');
  });

  it('declining consent issues nothing, keeps nothing and says how to come back', async () => {
    const who = sender('telegram', 'ru');
    const phone = testPhone();
    await env.flows.handle(who, { kind: 'start' });
    await env.flows.handle(who, { kind: 'contact', phone, own: true });
    await env.flows.handle(who, { kind: 'text', text: 'Вера' });
    const r = await env.flows.handle(who, { kind: 'action', action: 'consent', arg: 'no' });
    expect(textOf(r)).toContain('/start');
    expect(keyboardOf(r)).toEqual({ kind: 'remove' });
    expect(await env.t.core.members.findByPhone(phone)).toBeNull();
    expect(await env.t.conn.collection('conversations').findOne({ _id: `telegram:${who.userId}` as never })).toBeNull();
    // Coming back starts again from the phone.
    expect(keyboardOf(await env.flows.handle(who, { kind: 'start' }))?.kind).toBe('contact');
  });

  it('asks again when the answer to the consent question is not a button', async () => {
    const who = sender('console', 'en');
    await env.flows.handle(who, { kind: 'start' });
    await env.flows.handle(who, { kind: 'text', text: testPhone() });
    await env.flows.handle(who, { kind: 'text', text: 'Sam' });
    const r = await env.flows.handle(who, { kind: 'text', text: 'ok' });
    expect(textOf(r)).toContain('Please answer with a button');
    expect(inlineButtons(r).map((b) => b.arg)).toContain('yes');
  });

  it('a referral link gives both the friend and the inviter the referral bonus', async () => {
    const { t, flows } = env;
    const inviter = sender('telegram', 'ru');
    await join(flows, inviter, testPhone(), 'Ира');
    const inviterMember = (await t.core.members.findByIdentity(`telegram:${inviter.userId}`))!;

    const friend = sender('telegram', 'ru');
    const hello = await flows.handle(friend, { kind: 'start', payload: `ref_${inviterMember.referralCode}` });
    expect(textOf(hello)).toContain(`вы оба получите ещё по <b>${ruNumber(3000)} баллов</b>`);
    const done = await join(flows, friend, testPhone(), 'Олег');
    expect(textOf(done)).toContain(`Бонус за приглашение: <b>+${ruNumber(3000)} баллов</b>`);

    const friendMember = (await t.core.members.findByIdentity(`telegram:${friend.userId}`))!;
    expect(friendMember.referrerId).toBe(String(inviterMember._id));
    expect((await t.core.cards.byNumber(friendMember.cardNumber!))?.balance).toBe(4000);
    expect((await t.core.cards.byNumber(inviterMember.cardNumber!))?.balance).toBe(4000);
  });

  it('escapes HTML in names', async () => {
    const who = sender('telegram', 'en', '<i>Ann</i>');
    const hello = await env.flows.handle(who, { kind: 'start' });
    expect(textOf(hello)).toContain('Hello, &lt;i&gt;Ann&lt;/i&gt;!');
    await env.flows.handle(who, { kind: 'contact', phone: testPhone(), own: true });
    const consent = await env.flows.handle(who, { kind: 'text', text: '<b>Ann & Co</b>' });
    expect(textOf(consent)).toContain('&lt;b&gt;Ann &amp; Co&lt;/b&gt;, one last step');
    expect(textOf(consent)).not.toContain('<b>Ann');
    const done = await env.flows.handle(who, { kind: 'action', action: 'consent', arg: 'yes' });
    expect(textOf(done)).toContain('Welcome to the programme, &lt;b&gt;Ann &amp; Co&lt;/b&gt;!');
    const back = await env.flows.handle(who, { kind: 'start' });
    expect(textOf(back)).toContain('&lt;b&gt;Ann &amp; Co&lt;/b&gt;');
    expect(textOf(back)).not.toContain('<b>Ann');
  });
});
