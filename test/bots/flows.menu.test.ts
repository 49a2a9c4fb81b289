import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sender } from '../../bots/flows/flow.types.js';
import { testPhone } from '../helpers/core.js';
import { flowsEnv, inlineButtons, join, keyboardOf, ruNumber, sender, textOf, type FlowsEnv } from './flows.helpers.js';

describe('flows: the member menu', () => {
  let env: FlowsEnv;
  beforeAll(async () => {
    env = await flowsEnv();
  });
  afterAll(async () => {
    await env.close();
  });

  async function member(lang = 'ru', channel: Sender['channel'] = 'telegram') {
    const who = sender(channel, lang);
    await join(env.flows, who, testPhone(), 'Анна');
    const m = (await env.t.core.members.findByIdentity(`${channel}:${who.userId}`))!;
    return { who, m, card: m.cardNumber! };
  }
  const adjust = (card: string, key: string, effect: 'credit' | 'debit', points: number) =>
    env.t.core.ledger.apply({ key, card, type: 'adjustment', effect, points });

  it('balance: Russian plurals from i18next, level, next level in ₽, expiring points with dates', async () => {
    const { who, card } = await member();
    await adjust(card, `p1:${card}`, 'debit', 999);
    let r = await env.flows.handle(who, { kind: 'action', action: 'balance' });
    expect(textOf(r)).toContain('На карте: <b>1 балл</b>');
    await adjust(card, `p2:${card}`, 'credit', 1);
    r = await env.flows.handle(who, { kind: 'action', action: 'balance' });
    expect(textOf(r)).toContain('На карте: <b>2 балла</b>');
    await adjust(card, `p5:${card}`, 'credit', 3);
    r = await env.flows.handle(who, { kind: 'text', text: '💰 Баланс' });
    const text = textOf(r);
    expect(text).toContain('На карте: <b>5 баллов</b>');
    expect(text).toContain('Уровень: <b>Базовый</b> — 3% от покупок');
    expect(text).toContain(`До уровня «Серебряный» (5%) осталось совершить покупок на ${ruNumber(5000)} ₽`);
    // Earned 2026-03-01, expire 6 months later (end of that day, UTC).
    expect(text).toContain('⏳ Скоро сгорят:');
    expect(text).toContain('• 5 баллов — 1 сентября 2026');
    expect(keyboardOf(r)?.kind).toBe('menu');
  });

  it('balance in English', async () => {
    const { who } = await member('en');
    const text = textOf(await env.flows.handle(who, { kind: 'text', text: 'balance' }));
    expect(text).toContain('On your card: <b>1,000 points</b>');
    expect(text).toContain('Spend 5,000 ₽ more to reach Silver (5%)');
    expect(text).toContain('• 1,000 points on 1 September 2026');
  });

  it('my card: the number with a QR code of it for the till', async () => {
    const { who, card } = await member();
    const [reply] = await env.flows.handle(who, { kind: 'action', action: 'card' });
    expect(reply!.text).toContain(`<code>${card}</code>`);
    expect(reply!.image?.filename).toBe(`card-${card}.png`);
    expect(reply!.image!.png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(reply!.image!.png.equals(await QRCode.toBuffer(card, { type: 'png', margin: 1, width: 360 }))).toBe(true);
  });

  it('history: 5 a page, older and newer, no movement lost when several share a millisecond', async () => {
    const { who, card } = await member();
    // The fake clock stands still: these 11 movements share one timestamp with each other.
    env.t.clock.advance(60_000);
    for (let i = 1; i <= 11; i++) await adjust(card, `h${i}:${card}`, 'credit', i);
    const amounts = (text: string): string[] => [...text.matchAll(/<b>([+−][^<]+)<\/b>/g)].map((m) => m[1]!);

    const p1 = await env.flows.handle(who, { kind: 'text', text: '📜 История' });
    expect(textOf(p1)).toContain('страница 1');
    expect(textOf(p1)).toContain('Корректировка');
    expect(amounts(textOf(p1))).toHaveLength(5);
    expect(inlineButtons(p1).map((b) => [b.action, b.arg])).toEqual([['history', '1']]);

    const p2 = await env.flows.handle(who, { kind: 'action', action: 'history', arg: '1' });
    expect(amounts(textOf(p2))).toHaveLength(5);
    expect(inlineButtons(p2).map((b) => b.arg)).toEqual(['0', '2']);
    const p3 = await env.flows.handle(who, { kind: 'action', action: 'history', arg: '2' });
    expect(textOf(p3)).toContain('01.03.2026 · Приветственный бонус · <b>+1 000</b>'.replace('1 000', ruNumber(1000)));
    expect(inlineButtons(p3).map((b) => b.arg)).toEqual(['1']);

    const all = [...amounts(textOf(p1)), ...amounts(textOf(p2)), ...amounts(textOf(p3))];
    expect(all.sort()).toEqual([...Array.from({ length: 11 }, (_, i) => `+${i + 1}`), `+${ruNumber(1000)}`].sort());

    const back = await env.flows.handle(who, { kind: 'action', action: 'history', arg: '1' });
    expect(textOf(back)).toBe(textOf(p2));
    // A button from a stale message (a page never shown) starts from the top.
    expect(textOf(await env.flows.handle(who, { kind: 'action', action: 'history', arg: '9' }))).toBe(textOf(p1));
  });

  it('invite: personal links, friends joined and points earned', async () => {
    const { who, m } = await member();
    let text = textOf(await env.flows.handle(who, { kind: 'action', action: 'invite' }));
    expect(text).toContain(`https://t.me/shop_bot?start=ref_${m.referralCode}`);
    expect(text).toContain(`https://vk.me/shop?ref=${m.referralCode}`);
    expect(text).toContain('<b>0 друзей</b>');
    await join(env.flows, sender('telegram'), testPhone(), 'Друг', `ref_${m.referralCode}`);
    text = textOf(await env.flows.handle(who, { kind: 'action', action: 'invite' }));
    expect(text).toContain('<b>1 друг</b>');
    expect(text).toContain(`Получено за приглашения: <b>${ruNumber(3000)} баллов</b>`);
  });

  it('settings: switching the language changes the language of the replies and the menu', async () => {
    const { who, m } = await member();
    const s = await env.flows.handle(who, { kind: 'action', action: 'settings' });
    expect(textOf(s)).toContain('Язык: Русский');
    expect(inlineButtons(s).map((b) => [b.action, b.arg])).toEqual([
      ['language', 'ru'],
      ['language', 'en'],
      ['notifications', 'off'],
      ['marketing', 'yes'],
      ['erase', undefined],
    ]);
    const r = await env.flows.handle(who, { kind: 'action', action: 'language', arg: 'en' });
    expect(textOf(r)).toBe('Done: I will speak English from now on.');
    const menu = keyboardOf(r);
    expect(menu?.kind === 'menu' && menu.rows[0]![0]!.label).toBe('💰 Balance');
    expect((await env.t.core.members.byId(String(m._id)))?.language).toBe('en');
    expect(textOf(await env.flows.handle(who, { kind: 'action', action: 'balance' }))).toContain('On your card');
    expect(await env.flows.languageOf(who)).toBe('en');
  });

  it('settings: notifications off and on', async () => {
    const { who, m } = await member();
    const off = await env.flows.handle(who, { kind: 'action', action: 'notifications', arg: 'off' });
    expect(textOf(off)).toContain('Уведомления выключены');
    expect((await env.t.core.members.byId(String(m._id)))?.notifications).toBe(false);
    const s = await env.flows.handle(who, { kind: 'action', action: 'settings' });
    expect(inlineButtons(s).find((b) => b.action === 'notifications')?.arg).toBe('on');
  });

  it('delete my data: asks first, anonymises the member, keeps the ledger and says so', async () => {
    const { who, m, card } = await member();
    const ask = await env.flows.handle(who, { kind: 'action', action: 'erase' });
    expect(inlineButtons(ask).map((b) => [b.action, b.arg])).toEqual([
      ['erase_confirm', 'yes'],
      ['erase_confirm', 'no'],
    ]);
    const keep = await env.flows.handle(who, { kind: 'action', action: 'erase_confirm', arg: 'no' });
    expect(textOf(keep)).toContain('ничего не удалено');
    expect((await env.t.core.members.byId(String(m._id)))?.status).toBe('active');

    const done = await env.flows.handle(who, { kind: 'action', action: 'erase_confirm', arg: 'yes' });
    expect(textOf(done)).toContain('бухгалтерский учёт');
    expect(keyboardOf(done)).toEqual({ kind: 'remove' });
    const erased = await env.t.core.members.byId(String(m._id));
    expect(erased).toMatchObject({ status: 'erased', name: '—', consent: null, phone: `erased:${String(m._id)}` });
    expect(await env.t.core.members.findByIdentity(`telegram:${who.userId}`)).toBeNull();
    expect((await env.t.core.cards.byNumber(card))?.status).toBe('blocked');
    expect(await env.t.conn.collection('ledger_entries').countDocuments({ card })).toBeGreaterThan(0);
    // The chat is a stranger again: the next message starts a join.
    expect(keyboardOf(await env.flows.handle(who, { kind: 'action', action: 'balance' }))?.kind).toBe('contact');
  });

  it('help, and anything unrecognised shows the menu again', async () => {
    const { who } = await member();
    const help = await env.flows.handle(who, { kind: 'text', text: '/help' });
    expect(textOf(help)).toContain('Что умеет бот');
    expect(keyboardOf(help)?.kind).toBe('menu');
    const unknown = await env.flows.handle(who, { kind: 'text', text: 'когда скидки?' });
    expect(textOf(unknown)).toBe(env.i18n.t('ru', 'bot:unknown'));
    expect(keyboardOf(unknown)?.kind).toBe('menu');
    expect(keyboardOf(await env.flows.handle(who, { kind: 'action', action: 'no-such-action' }))?.kind).toBe('menu');
    expect(textOf(await env.flows.handle(who, { kind: 'start' }))).toContain('Анна, рады вас видеть');
  });
});
