import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, GrammyError, InlineKeyboard, InputFile, Keyboard, webhookCallback } from 'grammy';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, type FakeTelegram, type UploadedFile } from './telegram.fake.js';

let fake: FakeTelegram;

beforeAll(async () => {
  fake = await startFakeTelegram();
});

afterAll(async () => {
  await fake.close();
});

function newBot(token = fake.token): Bot {
  const bot = new Bot(token, { client: { apiRoot: fake.apiRoot } });
  bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 5 }));
  return bot;
}

/** Starts long polling; resolves once grammY has initialised (getMe, deleteWebhook). */
async function startPolling(bot: Bot): Promise<{ stop: () => Promise<void>; errors: unknown[] }> {
  const errors: unknown[] = [];
  bot.catch((e) => errors.push(e.error));
  let running: Promise<void> = Promise.resolve();
  await new Promise<void>((resolve, reject) => {
    running = bot.start({ onStart: () => resolve() });
    running.catch(reject);
  });
  return {
    errors,
    stop: async () => {
      await bot.stop();
      await running;
    },
  };
}

/** Raw wire access, no grammY. */
async function raw(f: FakeTelegram, method: string, body?: unknown, token = f.token): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${f.apiRoot}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

function updateIds(res: { json: Record<string, unknown> }): number[] {
  return (res.json.result as { update_id: number }[]).map((u) => u.update_id);
}

describe('fake Telegram with the real grammY client', () => {
  it('delivers a text message by long polling and records the reply keyboard', async () => {
    const bot = newBot();
    bot.on('message:text', (ctx) =>
      ctx.reply(`You said: ${ctx.message.text}`, {
        reply_markup: new Keyboard().text('Balance').text('Invite').row().requestContact('Share phone').resized(),
      }),
    );
    const { stop, errors } = await startPolling(bot);
    try {
      expect(bot.botInfo.username).toBe(fake.botUsername);
      // grammY's long poll (timeout 30 s) is being held by the fake...
      await fake.waitForCall('getUpdates', (c) => c.params.timeout === 30 && c.status === 0);
      const alice = fake.user(1001, { firstName: 'Alice', languageCode: 'ru' });
      const t0 = Date.now();
      const update = alice.sendText('hello');
      // ...and wakes as soon as the update is queued.
      const reply = await alice.waitForText('You said: hello');
      expect(Date.now() - t0).toBeLessThan(2000);

      expect(reply).toMatchObject({ method: 'sendMessage', chat_id: 1001, text: 'You said: hello' });
      expect(reply.message_id).toBe(update.message!.message_id + 1);
      expect(reply.reply_markup).toMatchObject({
        resize_keyboard: true,
        keyboard: [[{ text: 'Balance' }, { text: 'Invite' }], [{ text: 'Share phone', request_contact: true }]],
      });
      expect(alice.lastKeyboard()).toEqual([['Balance', 'Invite'], ['Share phone']]);
      expect(alice.lastText()).toBe('You said: hello');
      const call = fake.calls.findLast((c) => c.method === 'sendMessage')!;
      expect(call).toMatchObject({ status: 200, encoding: 'json', params: { chat_id: 1001, text: 'You said: hello' } });
    } finally {
      await stop();
    }
    expect(errors).toEqual([]);
    // bot.stop() confirmed what it handled
    expect(fake.pendingUpdates()).toEqual([]);
  });

  it('a chat flooded with a 429 answers 429 again until retry_after has passed', async () => {
    fake.failNext('sendMessage', 1, 2);
    const first = await raw(fake, 'sendMessage', { chat_id: 1009, text: 'a' });
    const early = await raw(fake, 'sendMessage', { chat_id: 1009, text: 'b' });
    const elsewhere = await raw(fake, 'sendMessage', { chat_id: 1010, text: 'c' });
    expect(first.status).toBe(429);
    expect(early).toMatchObject({ status: 429, json: { parameters: { retry_after: expect.any(Number) } } });
    expect(elsewhere.status).toBe(200);
  });

  it('a failure scripted for one chat answers only that chat, as many times as asked', async () => {
    fake.failNextWith('sendMessage', 2, { error_code: 500, description: 'Internal Server Error' }, { chatId: 1011 });
    const other = await raw(fake, 'sendMessage', { chat_id: 1012, text: 'a' });
    const tries = [];
    for (const text of ['b', 'c', 'd']) tries.push((await raw(fake, 'sendMessage', { chat_id: 1011, text })).status);
    expect(other.status).toBe(200);
    expect(tries).toEqual([500, 500, 200]);
    expect(fake.sent(1011).map((m) => m.text)).toEqual(['d']);
  });

  it('answers 429 with retry_after, which @grammyjs/auto-retry waits out and retries', async () => {
    const wire = (fake.failNext('getMe', 1, 7), await raw(fake, 'getMe'));
    expect(wire).toEqual({
      status: 429,
      json: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } },
    });

    const bot = newBot();
    bot.command('start', (ctx) => ctx.reply(`Welcome, ${ctx.match}`));
    const { stop, errors } = await startPolling(bot);
    try {
      fake.failNext('sendMessage', 1, 1);
      const bob = fake.user(1002);
      const update = bob.sendCommand('start', 'ref_abc');
      expect(update.message).toMatchObject({ text: '/start ref_abc', entities: [{ type: 'bot_command', offset: 0, length: 6 }] });
      await bob.waitForText('Welcome, ref_abc');
      const tries = fake.calls.filter((c) => c.method === 'sendMessage' && c.params.chat_id === 1002);
      // A retry before retry_after would be answered 429 again: one 429 means it was waited out.
      expect(tries.map((c) => c.status)).toEqual([429, 200]);
    } finally {
      await stop();
    }
    expect(errors).toEqual([]);
  });

  it('parses multipart uploads: sendPhoto with an InputFile is recorded with its size', async () => {
    const bot = newBot();
    const png = await QRCode.toBuffer('LOYALTY-CARD-42');
    const msg = await bot.api.sendPhoto(1003, new InputFile(png, 'card.png'), {
      caption: 'Your card <b>#42</b>',
      parse_mode: 'HTML',
      reply_markup: new InlineKeyboard().text('Refresh', 'card:refresh'),
    });
    expect(msg.photo.at(-1)?.file_size).toBe(png.length);
    expect(msg.caption).toBe('Your card #42');
    expect(msg.caption_entities).toEqual([{ type: 'bold', offset: 10, length: 3 }]);

    const call = fake.calls.findLast((c) => c.method === 'sendPhoto')!;
    expect(call.encoding).toBe('multipart');
    expect(call.params.chat_id).toBe(1003);

    const sent = fake.sent(1003).at(-1)!;
    expect(sent).toMatchObject({ method: 'sendPhoto', caption: 'Your card #42', raw: 'Your card <b>#42</b>', parse_mode: 'HTML' });
    expect(sent.photo).toEqual({ filename: 'card.png', size: png.length, contentType: 'application/octet-stream' });
    expect((sent.photo as UploadedFile).data.equals(png)).toBe(true);
    expect(sent.reply_markup).toEqual({ inline_keyboard: [[{ text: 'Refresh', callback_data: 'card:refresh' }]] });
    expect(fake.user(1003).lastInlineButtons()).toEqual([['Refresh']]);

    const doc = await bot.api.sendDocument(1003, new InputFile(Buffer.from('id;points\n1;10\n'), 'export.csv'));
    expect(doc.document).toMatchObject({ file_name: 'export.csv', file_size: 15 });

    await expect(bot.api.sendPhoto(1003, new InputFile(Buffer.from('not an image'), 'x.png'))).rejects.toMatchObject({
      error_code: 400,
      description: 'Bad Request: IMAGE_PROCESS_FAILED',
    });
  });

  it('refuses a wrong token with 401 and an unknown method with 404', async () => {
    const stranger = new Bot('123456789:AAwrong-token-wrong-token-wrong-tok', { client: { apiRoot: fake.apiRoot } });
    const err = await stranger.api.getMe().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrammyError);
    expect(err).toMatchObject({ error_code: 401, description: 'Unauthorized' });
    await expect(stranger.start()).rejects.toMatchObject({ error_code: 401 });

    expect(await raw(fake, 'getMe', {}, 'nope')).toEqual({ status: 401, json: { ok: false, error_code: 401, description: 'Unauthorized' } });
    expect(await raw(fake, 'sendCarrierPigeon')).toEqual({
      status: 404,
      json: { ok: false, error_code: 404, description: 'Not Found: method not found' },
    });
  });

  it("rejects HTML with an unescaped '<' like Telegram does", async () => {
    const bot = newBot();
    await expect(bot.api.sendMessage(1004, 'Points < 100', { parse_mode: 'HTML' })).rejects.toMatchObject({
      error_code: 400,
      description: `Bad Request: can't parse entities: Unsupported start tag "" at byte offset 7`,
    });
    await expect(bot.api.sendMessage(1004, 'Hi <Анна>', { parse_mode: 'HTML' })).rejects.toMatchObject({
      description: expect.stringContaining("can't parse entities: Unsupported start tag") as unknown,
    });
    await expect(bot.api.sendMessage(1004, '<b>bold', { parse_mode: 'HTML' })).rejects.toMatchObject({
      description: `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`,
    });
    const okMsg = await bot.api.sendMessage(1004, 'Points &lt; <b>100</b> &amp; <a href="https://example.com/x">more</a>', { parse_mode: 'HTML' });
    expect(okMsg.text).toBe('Points < 100 & more');
    expect(okMsg.entities).toEqual([
      { type: 'bold', offset: 9, length: 3 },
      { type: 'text_link', offset: 15, length: 4, url: 'https://example.com/x' },
    ]);
    await expect(bot.api.sendMessage(1004, 'Total: 5.', { parse_mode: 'MarkdownV2' })).rejects.toMatchObject({
      description: `Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'`,
    });
    expect((await bot.api.sendMessage(1004, '*Total:* 5\\.', { parse_mode: 'MarkdownV2' })).text).toBe('Total: 5.');
    await expect(bot.api.sendMessage(1004, '')).rejects.toMatchObject({ description: 'Bad Request: message text is empty' });
  });

  it('checks inline keyboards the way Telegram does', async () => {
    const bot = newBot();
    await expect(bot.api.sendMessage(1005, 'x', { reply_markup: new InlineKeyboard().text('Go', 'x'.repeat(65)) })).rejects.toMatchObject({
      description: 'Bad Request: BUTTON_DATA_INVALID',
    });
    await expect(bot.api.sendMessage(1005, 'x', { reply_markup: new InlineKeyboard().url('Card', 'http://localhost:3000/pass') })).rejects.toMatchObject({
      description: "Bad Request: inline keyboard button URL 'http://localhost:3000/pass' is invalid: Wrong HTTP URL",
    });
    await bot.api.sendMessage(1005, 'x', { reply_markup: new InlineKeyboard().url('Card', 'http://127.0.0.1:3000/pass') });
  });

  it('round-trips callback queries: press, answer, edit; "not modified" and deleted messages as on Telegram', async () => {
    const bot = newBot();
    let balance = 10;
    bot.command('card', (ctx) => ctx.reply(`Balance: ${balance}`, { reply_markup: new InlineKeyboard().text('Refresh', 'card:refresh') }));
    bot.callbackQuery('card:refresh', async (ctx) => {
      await ctx.answerCallbackQuery({ text: 'Updated' });
      await ctx.editMessageText(`Balance: ${balance}`, { reply_markup: new InlineKeyboard().text('Refresh', 'card:refresh') });
    });
    const { stop, errors } = await startPolling(bot);
    try {
      const carol = fake.user(1006, { firstName: 'Carol', username: 'carol' });
      carol.sendCommand('card');
      const card = await carol.waitForText('Balance: 10');
      balance = 20;
      const press = carol.pressButtonWithText('Refresh');
      expect(press.callback_query).toMatchObject({ data: 'card:refresh', message: { message_id: card.message_id, text: 'Balance: 10' } });
      const edit = await carol.waitForText('Balance: 20');
      expect(edit).toMatchObject({ method: 'editMessageText', message_id: card.message_id });
      expect(fake.message(1006, card.message_id)).toMatchObject({ text: 'Balance: 20' });
      expect(fake.unansweredCallbacks()).toEqual([]);
      await fake.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === press.callback_query!.id && c.params.text === 'Updated');

      // the same press again: the edit changes nothing, Telegram says so
      carol.pressButton('card:refresh', card.message_id);
      await fake.waitForCall('editMessageText', (c) => c.status === 400);
      await expect.poll(() => errors.length).toBe(1);
      expect(errors[0]).toMatchObject({ description: expect.stringContaining('message is not modified') as unknown });

      await bot.api.deleteMessage(1006, card.message_id);
      await expect(bot.api.deleteMessage(1006, card.message_id)).rejects.toMatchObject({ description: 'Bad Request: message to delete not found' });
      await expect(bot.api.answerCallbackQuery(press.callback_query!.id)).rejects.toMatchObject({ error_code: 400 });
    } finally {
      await stop();
    }
  });

  it('delivers contacts, and a blocked user gives my_chat_member and 403', async () => {
    const bot = newBot();
    bot.on('message:contact', (ctx) => ctx.reply(ctx.message.contact.user_id === ctx.from.id ? `own ${ctx.message.contact.phone_number}` : 'foreign'));
    const statuses: string[] = [];
    bot.on('my_chat_member', (ctx) => {
      statuses.push(ctx.myChatMember.new_chat_member.status);
    });
    const { stop, errors } = await startPolling(bot);
    try {
      const dave = fake.user(1007);
      dave.shareContact('+79990001122');
      await dave.waitForText('own +79990001122');
      dave.shareContact('+79990003344', { userId: 4242 });
      await dave.waitForText('foreign');
      dave.block();
      await expect(bot.api.sendMessage(1007, 'promo')).rejects.toMatchObject({ error_code: 403, description: 'Forbidden: bot was blocked by the user' });
      await expect.poll(() => statuses).toEqual(['kicked']);
      dave.unblock();
      await expect.poll(() => statuses).toEqual(['kicked', 'member']);
      await bot.api.sendMessage(1007, 'welcome back');
    } finally {
      await stop();
    }
    expect(errors).toEqual([]);
  });

  it('records setMyCommands per language and refuses invalid command names', async () => {
    const bot = newBot();
    await bot.api.setMyCommands([{ command: 'start', description: 'Начать' }]);
    await bot.api.setMyCommands([{ command: 'start', description: 'Start' }], { language_code: 'en' });
    expect(fake.commands()).toEqual([{ command: 'start', description: 'Начать' }]);
    expect(fake.commands({ languageCode: 'en' })).toEqual([{ command: 'start', description: 'Start' }]);
    expect(await bot.api.getMyCommands({ language_code: 'en' })).toEqual([{ command: 'start', description: 'Start' }]);
    await expect(bot.api.setMyCommands([{ command: 'Balance', description: 'x' }])).rejects.toMatchObject({ description: 'Bad Request: BOT_COMMAND_INVALID' });
  });

  it('pushes updates to a webhook with the secret token (grammY webhookCallback)', async () => {
    const bot = newBot();
    bot.on('message:text', (ctx) => ctx.reply(`hook: ${ctx.message.text}`));
    await bot.init();
    const handle = webhookCallback(bot, 'http', { secretToken: 'S3cret_token' });
    const server = createServer((req, res) => void handle(req, res));
    const port = await listen(server);
    try {
      const url = `http://127.0.0.1:${port}/telegram`;
      await bot.api.setWebhook(url, { secret_token: 'S3cret_token' });
      expect(fake.webhook).toMatchObject({ url, secretToken: 'S3cret_token' });
      expect(await bot.api.getWebhookInfo()).toMatchObject({ url, pending_update_count: 0 });
      await expect(bot.api.getUpdates()).rejects.toMatchObject({ error_code: 409 });

      const erin = fake.user(1008);
      erin.sendText('ping');
      await erin.waitForText('hook: ping');
      // the reply reaches the fake before the webhook's own 200 does
      await expect.poll(() => fake.webhook.deliveries.at(-1)).toMatchObject({ status: 200, error: null });

      // a wrong secret: grammY answers 401, the fake keeps retrying (and reports it)
      await bot.api.setWebhook(url, { secret_token: 'other' });
      erin.sendText('lost');
      await expect.poll(() => fake.webhook.deliveries.filter((d) => d.status === 401).length).toBeGreaterThan(0);
      expect((await bot.api.getWebhookInfo()).last_error_message).toMatch(/401/);
      await bot.api.deleteWebhook({ drop_pending_updates: true });
      expect(fake.webhook.url).toBeNull();
      expect(fake.pendingUpdates()).toEqual([]);
    } finally {
      await bot.api.deleteWebhook();
      await closeServer(server);
    }
  });
});

describe('fake Telegram wire semantics', () => {
  it('getUpdates: offset confirms, negative offset keeps the tail, long poll wakes, conflicts, close releases', async () => {
    const f = await startFakeTelegram();
    try {
      const u = f.user(7);
      const a = u.sendText('a');
      const b = u.sendText('b');
      const c = u.sendText('c');
      expect([a, b, c].map((x) => x.message!.message_id)).toEqual([1, 2, 3]);
      expect(updateIds(await raw(f, 'getUpdates'))).toEqual([a.update_id, b.update_id, c.update_id]);
      expect(updateIds(await raw(f, 'getUpdates', { offset: b.update_id, limit: 1 }))).toEqual([b.update_id]);
      expect(updateIds(await raw(f, 'getUpdates', { offset: 0 }))).toEqual([b.update_id, c.update_id]);
      expect(updateIds(await raw(f, 'getUpdates', { offset: -1 }))).toEqual([c.update_id]);
      expect(f.pendingUpdates().map((x) => x.update_id)).toEqual([c.update_id]);

      // held, then woken by a new update
      const held = raw(f, 'getUpdates', { offset: c.update_id + 1, timeout: 20 });
      await f.waitForCall('getUpdates', (x) => x.params.timeout === 20 && x.status === 0);
      const d = u.sendText('d');
      expect(updateIds(await held)).toEqual([d.update_id]);

      // timeout honoured
      const t0 = Date.now();
      expect((await raw(f, 'getUpdates', { offset: d.update_id + 1, timeout: 1 })).json.result).toEqual([]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);

      // a second poller terminates the first one with 409
      const first = raw(f, 'getUpdates', { offset: d.update_id + 1, timeout: 20, limit: 7 });
      await f.waitForCall('getUpdates', (x) => x.params.limit === 7 && x.status === 0);
      const second = raw(f, 'getUpdates', { offset: d.update_id + 1, timeout: 20, limit: 8 });
      expect(await first).toMatchObject({ status: 409, json: { ok: false, error_code: 409 } });
      await f.waitForCall('getUpdates', (x) => x.params.limit === 8 && x.status === 0);

      // close() releases the held request with an empty result
      await f.close();
      expect(await second).toEqual({ status: 200, json: { ok: true, result: [] } });
    } finally {
      await f.close();
    }
  });

  it('waitForText consumes messages in order and times out with a dump of the chat', async () => {
    const f = await startFakeTelegram();
    try {
      await raw(f, 'sendMessage', { chat_id: 9, text: 'one' });
      await raw(f, 'sendMessage', { chat_id: 9, text: 'two' });
      const u = f.user(9);
      expect((await u.waitForText(/o/)).text).toBe('one');
      expect((await u.waitForText(/o/)).text).toBe('two');
      const later = u.waitForText('three');
      await raw(f, 'sendMessage', { chat_id: 9, text: 'three' });
      expect((await later).message_id).toBe(3);
      await expect(u.waitForText('one', 100)).rejects.toThrow(/waitForText\("one"\) timed out after 100 ms[\s\S]*"three"/);
      await expect(f.waitForMessage((m) => m.text === 'nope', 50)).rejects.toThrow(/#1 chat=9 sendMessage "one"/);
    } finally {
      await f.close();
    }
  });

  it('executes a webhook reply and retries a failing webhook', async () => {
    const f = await startFakeTelegram();
    let hits = 0;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      hits++;
      if (hits === 1) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: 'sendMessage', chat_id: 11, text: 'from the webhook reply' }));
    });
    const port = await listen(server);
    try {
      expect(await raw(f, 'setWebhook', { url: `http://127.0.0.1:${port}/` })).toMatchObject({ status: 200, json: { ok: true, result: true } });
      f.user(11).sendText('hi');
      const m = await f.user(11).waitForText('from the webhook reply');
      expect(f.webhook.deliveries.map((d) => d.status)).toEqual([500, 200]);
      expect(f.calls.find((c) => c.viaWebhookReply)).toMatchObject({ method: 'sendMessage', status: 200 });
      expect(m.chat_id).toBe(11);
    } finally {
      await f.close();
      await closeServer(server);
    }
  });
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
