import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelegramApi } from '../../bots/telegram/telegram.bot.js';
import { callbackData, KeyboardMemory, parseCallbackData, renderReplies, replyMarkup, telegramSender } from '../../bots/telegram/telegram.render.js';
import { startFakeTelegram, type FakeTelegram, type UploadedFile } from '../fakes/telegram.fake.js';

/** The rendering half of the adapter on its own: Reply in, Bot API calls out, against the fake server. */
let fake: FakeTelegram;
beforeAll(async () => {
  fake = await startFakeTelegram();
});
afterAll(async () => {
  await fake.close();
});

const api = () => createTelegramApi({ enabled: true, token: fake.token, apiRoot: fake.apiRoot, mode: { kind: 'polling' } });

describe('telegram rendering', () => {
  it('sends HTML text with a persistent menu, and remembers its labels for the chat', async () => {
    const memory = new KeyboardMemory();
    await renderReplies(
      api(),
      3001,
      [{ text: 'Баланс: <b>1 000</b> &lt;ok&gt;', keyboard: { kind: 'menu', rows: [[{ label: '💰 Баланс', action: 'balance' }, { label: '💳 Карта', action: 'card' }]] } }],
      memory,
    );
    const m = fake.sent(3001).at(-1)!;
    expect(m).toMatchObject({ method: 'sendMessage', text: 'Баланс: 1 000 <ok>', parse_mode: 'HTML' });
    expect(m.reply_markup).toEqual({ keyboard: [[{ text: '💰 Баланс' }, { text: '💳 Карта' }]], resize_keyboard: true, is_persistent: true });
    expect(memory.resolve(3001, '💳 Карта')).toMatchObject({ action: 'card' });
    expect(memory.resolve(3002, '💳 Карта')).toBeUndefined();

    await renderReplies(api(), 3001, [{ text: 'Как вас зовут?', keyboard: { kind: 'remove' } }], memory);
    expect(fake.sent(3001).at(-1)!.reply_markup).toEqual({ remove_keyboard: true });
    expect(fake.user(3001).lastKeyboard()).toBeUndefined();
    // With the keyboard gone, a text equal to an old label is just text.
    expect(memory.resolve(3001, '💳 Карта')).toBeUndefined();
  });

  it('asks for the contact with a one-time request_contact keyboard', async () => {
    await renderReplies(api(), 3003, [{ text: 'Поделитесь номером', keyboard: { kind: 'contact', label: '📱 Номер', rows: [[{ label: 'Отмена', action: 'cancel' }]] } }]);
    expect(fake.sent(3003).at(-1)!.reply_markup).toEqual({
      keyboard: [[{ text: '📱 Номер', request_contact: true }], [{ text: 'Отмена' }]],
      resize_keyboard: true,
      one_time_keyboard: true,
    });
  });

  it('renders inline keyboards as callback_data `<action>:<arg>` and URL buttons', async () => {
    await renderReplies(api(), 3004, [
      {
        text: 'Согласие',
        keyboard: {
          kind: 'inline',
          rows: [[{ label: 'Да', action: 'consent', arg: 'yes' }, { label: 'Меню', action: 'menu' }], [{ label: 'Политика', action: 'policy', url: 'https://shop.example/policy' }]],
        },
      },
    ]);
    expect(fake.sent(3004).at(-1)!.reply_markup).toEqual({
      inline_keyboard: [
        [
          { text: 'Да', callback_data: 'consent:yes' },
          { text: 'Меню', callback_data: 'menu' },
        ],
        [{ text: 'Политика', url: 'https://shop.example/policy' }],
      ],
    });
    expect(parseCallbackData('consent:yes')).toEqual({ action: 'consent', arg: 'yes' });
    expect(parseCallbackData('history:a:b')).toEqual({ action: 'history', arg: 'a:b' });
    expect(parseCallbackData('menu')).toEqual({ action: 'menu' });
    expect(callbackData('history', 'x'.repeat(56))).toHaveLength(64);
    // 64 bytes is Telegram's limit: longer data is a bug in the flows, refused before it is sent.
    expect(() => callbackData('history', 'x'.repeat(57))).toThrow(/65 bytes/);
    expect(() => callbackData('history', 'ж'.repeat(29))).toThrow(/66 bytes/);
    expect(() => replyMarkup({ kind: 'inline', rows: [[{ label: 'x', action: 'a:b' }]] })).toThrow(/without ':'/);
  });

  it('sends a picture with the text as its HTML caption, and a document after the text', async () => {
    const png = await QRCode.toBuffer('2000123456789');
    await renderReplies(api(), 3005, [
      { text: '💳 Ваша карта: <code>2000123456789</code>', image: { png, filename: 'card.png' }, keyboard: { kind: 'inline', rows: [[{ label: 'Меню', action: 'menu' }]] } },
      { text: 'Ваш пропуск', document: { data: Buffer.from('PK-pass'), filename: 'card.pkpass', contentType: 'application/vnd.apple.pkpass' } },
    ]);
    const [photo, text, doc] = fake.sent(3005);
    expect(photo).toMatchObject({ method: 'sendPhoto', caption: '💳 Ваша карта: 2000123456789', raw: '💳 Ваша карта: <code>2000123456789</code>', parse_mode: 'HTML' });
    expect((photo!.photo as UploadedFile).data.equals(png)).toBe(true);
    expect(photo!.reply_markup).toEqual({ inline_keyboard: [[{ text: 'Меню', callback_data: 'menu' }]] });
    expect(text).toMatchObject({ method: 'sendMessage', text: 'Ваш пропуск' });
    expect(doc).toMatchObject({ method: 'sendDocument', document: { filename: 'card.pkpass', size: 7 } });
  });

  it('sends a caption longer than Telegram allows as a message after the picture', async () => {
    const png = await QRCode.toBuffer('x');
    const long = `<b>${'a'.repeat(1100)}</b>`;
    await renderReplies(api(), 3006, [{ text: long, image: { png, filename: 'card.png' }, keyboard: { kind: 'menu', rows: [[{ label: 'M', action: 'menu' }]] } }]);
    const [photo, text] = fake.sent(3006);
    expect(photo).toMatchObject({ method: 'sendPhoto' });
    expect(photo!.caption).toBeUndefined();
    expect(photo!.reply_markup).toBeUndefined();
    expect(text).toMatchObject({ method: 'sendMessage', text: 'a'.repeat(1100) });
    expect(text!.reply_markup).toMatchObject({ keyboard: [[{ text: 'M' }]] });
  });

  it('the notification sender addresses the user by id', async () => {
    await telegramSender(api())('3007', [{ text: '+21 балл за покупку' }], 'event-1');
    expect(fake.user(3007).lastText()).toBe('+21 балл за покупку');
  });
});
