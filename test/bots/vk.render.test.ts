import { describe, expect, it } from 'vitest';
import type { Keyboard } from '../../bots/flows/flow.types.js';
import { capsOf, languageCodeOf, startFromRef } from '../../bots/vk/vk.input.js';
import { buttonPayload, htmlToVkText, keyboardJson, parseButtonPayload, randomIdFor, splitText } from '../../bots/vk/vk.render.js';
import { loadConfig } from '../../core/config.js';

const MENU: Keyboard = {
  kind: 'menu',
  rows: [
    [
      { label: '💰 Баланс', action: 'balance' },
      { label: '💳 Моя карта', action: 'card' },
    ],
  ],
};

describe('VK rendering', () => {
  it('flattens the flows HTML to plain text', () => {
    expect(htmlToVkText('<b>1\u00a0000</b> &lt;ok&gt; &amp; <code>7012</code> &#39;x&#39; &quot;y&quot;')).toBe('1\u00a0000 <ok> & 7012 \'x\' "y"');
    expect(htmlToVkText('Правила: <a href="https://shop.example/r?a=1&amp;b=2">https://shop.example/r?a=1&amp;b=2</a>')).toBe('Правила: https://shop.example/r?a=1&b=2');
    expect(htmlToVkText('<a href="https://x.example">тут</a>')).toBe('тут (https://x.example)');
  });

  it('splits a text longer than VK allows at a line break', () => {
    const text = `${'а'.repeat(3000)}\n${'б'.repeat(3000)}`;
    expect(splitText(text)).toEqual(['а'.repeat(3000), 'б'.repeat(3000)]);
    expect(splitText('x'.repeat(5000)).map((p) => p.length)).toEqual([4096, 904]);
  });

  it('menu: a lasting keyboard of text buttons whose payload is the action', () => {
    const k = JSON.parse(keyboardJson(MENU));
    expect(k).toEqual({
      one_time: false,
      buttons: [
        [
          { color: 'secondary', action: { type: 'text', label: '💰 Баланс', payload: '{"action":"balance"}' } },
          { color: 'secondary', action: { type: 'text', label: '💳 Моя карта', payload: '{"action":"card"}' } },
        ],
      ],
    });
  });

  it('inline: callback buttons where the client has them, text buttons or a one-time keyboard where not; links open', () => {
    const inline: Keyboard = {
      kind: 'inline',
      rows: [[{ label: 'Да', action: 'consent', arg: 'yes' }], [{ label: 'Политика', action: 'policy', url: 'https://shop.example/p' }]],
    };
    const modern = JSON.parse(keyboardJson(inline));
    expect(modern.inline).toBe(true);
    expect(modern.buttons[0][0].action).toEqual({ type: 'callback', label: 'Да', payload: '{"action":"consent","arg":"yes"}' });
    expect(modern.buttons[1][0].action).toMatchObject({ type: 'open_link', link: 'https://shop.example/p', label: 'Политика' });
    expect(JSON.parse(keyboardJson(inline, { inlineKeyboard: true, callbackButtons: false })).buttons[0][0].action.type).toBe('text');
    expect(JSON.parse(keyboardJson(inline, { inlineKeyboard: false, callbackButtons: false }))).toMatchObject({ one_time: true });
  });

  it('contact (no phone button on VK) and remove: the current keyboard is hidden', () => {
    expect(JSON.parse(keyboardJson({ kind: 'contact', label: '📱 Поделиться номером' }))).toEqual({ one_time: true, buttons: [] });
    expect(JSON.parse(keyboardJson({ kind: 'remove' }))).toEqual({ one_time: true, buttons: [] });
    const withRows = JSON.parse(keyboardJson({ kind: 'contact', label: 'x', rows: [[{ label: 'Отмена', action: 'menu' }]] }));
    expect(withRows.buttons[0][0].action).toMatchObject({ type: 'text', label: 'Отмена' });
  });

  it('refuses what VK would refuse: long labels, long payloads', () => {
    expect(() => keyboardJson({ kind: 'menu', rows: [[{ label: 'x'.repeat(41), action: 'a' }]] })).toThrow(/40/);
    expect(() => buttonPayload('a', 'x'.repeat(300))).toThrow(/255/);
  });

  it('reads button payloads: ours, VK Start, and nothing else', () => {
    expect(parseButtonPayload('{"action":"history","arg":"2"}')).toEqual({ action: 'history', arg: '2' });
    expect(parseButtonPayload({ action: 'balance' })).toEqual({ action: 'balance' });
    expect(parseButtonPayload('{"command":"start"}')).toEqual({ start: true });
    expect(parseButtonPayload('not json')).toBeNull();
    expect(parseButtonPayload('{"button":"1"}')).toBeNull();
    expect(parseButtonPayload(undefined)).toBeNull();
  });

  it('random_id: 31 bits, never 0, the same for the same delivery, another for another part or person', () => {
    const a = randomIdFor(100, 'event:abc', 0);
    expect(a).toBe(randomIdFor(100, 'event:abc', 0));
    expect(a).toBeGreaterThan(0);
    expect(a).toBeLessThan(2 ** 31);
    expect(randomIdFor(100, 'event:abc', 1)).not.toBe(a);
    expect(randomIdFor(101, 'event:abc', 0)).not.toBe(a);
  });

  it('reads an invite ref as the flows start payload, and the client info', () => {
    expect(startFromRef('k3x9abcd')).toEqual({ kind: 'start', payload: 'ref_k3x9abcd' });
    expect(startFromRef('ref_k3x9abcd')).toEqual({ kind: 'start', payload: 'ref_k3x9abcd' });
    expect(startFromRef('contest_42')).toEqual({ kind: 'start', payload: 'contest_42' });
    expect(startFromRef(undefined)).toEqual({ kind: 'start' });
    expect(languageCodeOf({ lang_id: 3 })).toBe('en');
    expect(languageCodeOf({ lang_id: 0 })).toBe('ru');
    expect(languageCodeOf(undefined)).toBeUndefined();
    expect(capsOf({ button_actions: ['text'], inline_keyboard: false })).toEqual({ inlineKeyboard: false, callbackButtons: false });
    expect(capsOf({ button_actions: ['text', 'callback'], inline_keyboard: true })).toEqual({ inlineKeyboard: true, callbackButtons: true });
  });
});

describe('VK configuration', () => {
  const token = `vk1.a.${'A'.repeat(60)}`;

  it('is off without a token, and says so', () => {
    expect(loadConfig({}).vk).toEqual({ enabled: false, reason: 'no VK_GROUP_TOKEN' });
    expect(loadConfig({ VK_GROUP_ID: '123' }).vk).toEqual({ enabled: false, reason: 'no VK_GROUP_TOKEN' });
  });

  it('long poll with a token and a group id; the Callback API with its secret and code', () => {
    expect(loadConfig({ VK_GROUP_TOKEN: token, VK_GROUP_ID: '123' }).vk).toEqual({ enabled: true, token, groupId: 123, apiBaseUrl: undefined, rps: 20, mode: { kind: 'longpoll' } });
    const c = loadConfig({
      VK_GROUP_TOKEN: token,
      VK_GROUP_ID: '123',
      VK_CALLBACK_SECRET: 'S3cretS3cretS3cret',
      VK_CONFIRMATION_CODE: 'a1b2c3d4',
      VK_API_BASE_URL: 'http://127.0.0.1:9999/method/',
      VK_API_RPS: '5',
    }).vk;
    expect(c).toEqual({ enabled: true, token, groupId: 123, apiBaseUrl: 'http://127.0.0.1:9999', rps: 5, mode: { kind: 'callback', secret: 'S3cretS3cretS3cret', confirmation: 'a1b2c3d4' } });
  });

  it('names what is missing or wrong', () => {
    expect(() => loadConfig({ VK_GROUP_TOKEN: token })).toThrow(/VK_GROUP_ID: required with VK_GROUP_TOKEN/);
    expect(() => loadConfig({ VK_GROUP_TOKEN: token, VK_GROUP_ID: '1', VK_CALLBACK_SECRET: 'S3cretS3cretS3cret' })).toThrow(/VK_CONFIRMATION_CODE: required with VK_CALLBACK_SECRET/);
    expect(() => loadConfig({ VK_GROUP_TOKEN: 'short', VK_GROUP_ID: '-5', VK_CALLBACK_SECRET: 'bad secret!', VK_API_RPS: '0' })).toThrow(
      /VK_GROUP_TOKEN[\s\S]*VK_GROUP_ID[\s\S]*VK_CALLBACK_SECRET[\s\S]*VK_API_RPS/,
    );
  });
});
