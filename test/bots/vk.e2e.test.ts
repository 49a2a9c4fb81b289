import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { VK_CALLBACK_PATH } from '../../api/routes/vk-callback.routes.js';
import { createFlows, type FlowsService } from '../../bots/flows/flows.service.js';
import { createTelegramApi, createTelegramBot } from '../../bots/telegram/telegram.bot.js';
import { telegramSender } from '../../bots/telegram/telegram.render.js';
import { startTelegram } from '../../bots/telegram/telegram.runner.js';
import { createVk, createVkBot, fetchCommunity, redisUpdateGuard, type EnabledVkConfig, type VkBot } from '../../bots/vk/vk.bot.js';
import { randomIdFor, vkSender } from '../../bots/vk/vk.render.js';
import { DOMAIN_EVENTS_QUEUE, type DomainEvent } from '../../core/events/event.types.js';
import { createI18n, type I18n } from '../../core/i18n/i18n.js';
import { PHONE_PROOF_LIMITS } from '../../core/members/phone-proof.service.js';
import { createLogger, type Logger } from '../../infra/logger.js';
import type { QueueFactory } from '../../infra/queue.factory.js';
import type { Redis } from '../../infra/redis.js';
import { startNotifyWorker } from '../../workers/notifications/notify.worker.js';
import { startOutboxRelay } from '../../workers/outbox/outbox-relay.worker.js';
import { createQueueEventSink } from '../../infra/event-sink.js';
import { startFakeTelegram, type FakeTelegram, type FakeUser } from '../fakes/telegram.fake.js';
import { startFakeVk, type FakeVk, type FakeVkUser } from '../fakes/vk.fake.js';
import { testCore, testPhone, type TestCore } from '../helpers/core.js';
import { testQueues, testRedis, uniqueName } from '../helpers/env.js';

/**
 * The VK channel end to end through the Callback API: the fake VK API POSTs updates to
 * POST /vk/callback of the real fastify app (a real listen), the real vk-io client answers
 * through the fake's API, the real flows run on FerretDB, the update guard and the
 * notifications (outbox relay → BullMQ → notify worker) on real Redis; the code that proves a
 * phone is delivered to the fake Telegram, where the real Telegram bot also runs (its contact
 * button proves a number), and the till's HTTP API is served by the same app. Nothing of ours
 * is mocked.
 */

const SECRET = 'CallbackSecret0123456789';
const CONFIRMATION = 'a1b2c3d4';
const GROUP_ID = 217_000_001;

let fake: FakeVk;
let tg: FakeTelegram;
let t: TestCore;
let i18n: I18n;
let redis: Redis;
let queues: QueueFactory;
let flows: FlowsService;
let bot: VkBot;
let app: FastifyInstance;
let prefix: string;
let stopWorkers: () => Promise<void>;
let storeKey: string;
let adminToken: string;
const logLines: { level: number; msg: string }[] = [];
let logger: Logger;

function config(): EnabledVkConfig {
  return { enabled: true, token: fake.token, groupId: GROUP_ID, apiBaseUrl: fake.baseUrl, rps: 50, mode: { kind: 'callback', secret: SECRET, confirmation: CONFIRMATION } };
}

beforeAll(async () => {
  fake = await startFakeVk({ groupId: GROUP_ID, screenName: 'shop_loyalty' });
  tg = await startFakeTelegram({ botUsername: 'shop_loyalty_bot' });
  t = await testCore();
  i18n = await createI18n();
  redis = await testRedis();
  queues = testQueues();
  prefix = uniqueName('vk');
  logger = createLogger('warn', {
    write: (line: string) => {
      logLines.push(JSON.parse(line) as { level: number; msg: string });
    },
  });
  // As the channels are wired: groups.getById gives the community's short name for invite links.
  const vk = createVk(config());
  const community = await fetchCommunity(vk, GROUP_ID);
  flows = createFlows({ core: t.core, i18n, links: { telegramBot: tg.botUsername, vkCommunity: community.screenName } });
  bot = createVkBot({ config: config(), vk, flows, guard: redisUpdateGuard(redis, prefix, GROUP_ID), logger, i18n, flood: { retries: 2, waitMs: 50 } });

  adminToken = 'vk-e2e-admin-token-0123456789abcdef';
  app = await buildApp({
    logger: createLogger('silent'),
    health: { checks: {} },
    core: t.core,
    adminToken,
    lookupRateLimit: { max: 10_000, timeWindowMs: 60_000 },
    vkCallback: { bot, groupId: GROUP_ID, secret: SECRET, confirmation: CONFIRMATION },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  storeKey = (await app.inject({ method: 'POST', url: '/api/v1/admin/stores', headers: { authorization: `Bearer ${adminToken}` }, payload: { name: 'Till' } })).json<{ key: string }>().key;
  // The Telegram bot on the same flows: its contact button proves a number.
  const tgConfig = { enabled: true as const, token: tg.token, apiRoot: tg.apiRoot, mode: { kind: 'polling' as const } };
  const tgBot = createTelegramBot({ config: tgConfig, flows, logger, i18n, botInfo: await createTelegramApi(tgConfig).getMe() });
  const tgHandle = await startTelegram({ bot: tgBot, config: tgConfig, logger });
  fake.setCallbackServer(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}${VK_CALLBACK_PATH}`, SECRET);

  // Notices (and linking codes) go out through the outbox, BullMQ and the notify worker.
  const sink = createQueueEventSink([queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE)]);
  t.events.attach(sink);
  const relay = startOutboxRelay({ outbox: t.core.outbox, sink, logger, busyMs: 20, idleMs: 100 });
  const telegram = telegramSender(createTelegramApi({ enabled: true, token: tg.token, apiRoot: tg.apiRoot, mode: { kind: 'polling' } }));
  const notify = startNotifyWorker({ queues, flows, senders: { telegram, vk: vkSender(vk, { floodPauseMs: 300 }) }, redis, logger });
  stopWorkers = async () => {
    await tgHandle.stop();
    await relay.close();
    await notify.close();
  };
});

afterAll(async () => {
  await stopWorkers();
  await app.close();
  await queues.close();
  redis.disconnect();
  await fake.close();
  await tg.close();
  await t.close();
});

const errorsLogged = (): string[] => logLines.filter((l) => l.level >= 50).map((l) => l.msg);
const warnings = (): string[] => logLines.filter((l) => l.level === 40).map((l) => l.msg);

/** Typed as people type it in Russia: 8 999 123-45-67. */
const typed = (e164: string): string => `8 ${e164.slice(2, 5)} ${e164.slice(5, 8)}-${e164.slice(8, 10)}-${e164.slice(10)}`;

const RU_MENU = [
  ['💰 Баланс', '💳 Моя карта'],
  ['📜 История', '🎁 Пригласить друга'],
  ['⚙️ Настройки', '❓ Помощь'],
  ['🏬 Где действует карта'],
];

let nextUserId = 500_000;
function vkUser(opts: Parameters<FakeVk['user']>[1] = {}): FakeVkUser {
  nextUserId += 1;
  return fake.user(nextUserId, { firstName: 'Анна', ...opts });
}

/** What VK answers to a typed number, whoever holds it. */
const TYPED_ANSWER = 'Если этот номер уже участвует в программе';

/** Joins in Russian through the whole dialogue; resolves with the card number. */
async function joinVk(user: FakeVkUser, phone: string, name: string): Promise<string> {
  user.pressStart();
  await user.waitForText(/Здравствуйте, .+! Это бонусная программа/);
  user.sendText(typed(phone));
  await user.waitForText(TYPED_ANSWER);
  user.sendText(name);
  await user.waitForText('остался последний шаг');
  user.pressButton('✅ Даю согласие');
  const welcome = await user.waitForText(`Добро пожаловать в программу, ${name}!`);
  // The join ends with the marketing question, sent after the welcome.
  await user.waitForText(/^Присылать вам сюда акции/);
  return /Ваша карта: (\d+)/.exec(welcome.text)![1]!;
}

/** Joins through the Telegram bot with the contact button (a proved number); resolves with the card number. */
async function joinTelegram(user: FakeUser, phone: string, name: string): Promise<string> {
  user.sendCommand('start');
  await user.waitForText(/Здравствуйте, .+! Это бонусная программа/);
  user.shareContact(phone.slice(1));
  await user.waitForText('Как к вам обращаться?');
  user.sendText(name);
  await user.waitForText('остался последний шаг');
  user.pressButtonWithText('✅ Даю согласие');
  const welcome = await user.waitForText(`Добро пожаловать в программу, ${name}!`);
  await user.waitForText('Присылать вам сюда акции');
  return /Ваша карта: (\d+)/.exec(welcome.text ?? '')![1]!;
}

/** A call of the till's API with the store key. */
function till(method: 'GET' | 'POST', url: string, body?: Record<string, unknown>) {
  return app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${storeKey}` }, ...(body ? { payload: body } : {}) });
}

let nextTgId = 880_000;
const tgUser = (firstName: string): FakeUser => tg.user(++nextTgId, { firstName, languageCode: 'ru' });

function event(type: string, object: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { type, object, group_id: GROUP_ID, event_id: `test-${Math.random().toString(16).slice(2)}`, v: '5.199', secret: SECRET, ...extra };
}

function textEvent(userId: number, text: string, extra: Record<string, unknown> = {}) {
  return event(
    'message_new',
    { message: { date: 0, from_id: userId, id: 0, out: 0, peer_id: userId, text, conversation_message_id: 1, attachments: [], fwd_messages: [] }, client_info: { button_actions: ['text', 'callback'], keyboard: true, inline_keyboard: true, lang_id: 0 } },
    extra,
  );
}

describe('VK Callback API: the protocol', () => {
  it('answers the confirmation request with the confirmation code as text', async () => {
    const r = await fake.confirmCallbackServer();
    expect(r).toEqual({ status: 200, body: CONFIRMATION });
    const res = await app.inject({ method: 'POST', url: VK_CALLBACK_PATH, payload: { type: 'confirmation', group_id: GROUP_ID, secret: SECRET } });
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    // Without the secret, or for another community, not even the code.
    expect((await app.inject({ method: 'POST', url: VK_CALLBACK_PATH, payload: { type: 'confirmation', group_id: GROUP_ID } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: VK_CALLBACK_PATH, payload: { type: 'confirmation', group_id: 1, secret: SECRET } })).statusCode).toBe(403);
  });

  it('a wrong or missing secret is 403 and nothing is processed, not even the event id', async () => {
    const user = vkUser({ firstName: 'Ева' });
    const body = textEvent(user.id, '/start');
    for (const secret of ['WrongSecret0123456789xx', undefined]) {
      const res = await app.inject({ method: 'POST', url: VK_CALLBACK_PATH, payload: { ...body, secret } });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'forbidden' } });
    }
    expect((await app.inject({ method: 'POST', url: VK_CALLBACK_PATH, payload: { ...body, group_id: GROUP_ID + 1 } })).statusCode).toBe(403);
    // Whatever the bot took is handled once drain() resolves: a refused event was never taken.
    await bot.drain();
    expect(fake.sent(user.id)).toEqual([]);
    expect(await t.conn.collection('conversations').findOne({ _id: `vk:${user.id}` as never })).toBeNull();
    expect(await redis.exists(`${prefix}:vk:update:${GROUP_ID}:${body.event_id}`)).toBe(0);

    // The same event with the right secret is taken: it was not spent by the refused ones.
    const ok = await app.inject({ method: 'POST', url: VK_CALLBACK_PATH, payload: body });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('ok');
    await user.waitForText('Здравствуйте, Ева!');
    expect((await app.inject({ method: 'POST', url: VK_CALLBACK_PATH, payload: { hello: 1 } })).statusCode).toBe(400);
  });

  it('an event VK delivers again (and again, concurrently) is processed once', async () => {
    const user = vkUser({ firstName: 'Лев' });
    const update = user.pressStart();
    await user.waitForText('Здравствуйте, Лев!');
    const again = await fake.deliverAgain(update.event_id);
    expect(again).toMatchObject({ status: 200, body: 'ok' });
    const burst = await Promise.all([1, 2, 3].map(() => app.inject({ method: 'POST', url: VK_CALLBACK_PATH, payload: { ...update, secret: SECRET } })));
    expect(burst.map((r) => r.body)).toEqual(['ok', 'ok', 'ok']);
    await bot.drain();
    expect(user.inbox().filter((m) => m.text.startsWith('Здравствуйте'))).toHaveLength(1);
    expect(fake.calls.filter((c) => c.method === 'messages.send' && c.params.peer_id === String(user.id))).toHaveLength(1);
  });

  it('events the bot does not read (other types, unreadable objects) are answered "ok" and ignored', async () => {
    const before = errorsLogged().length;
    for (const body of [event('message_typing_state', { state: 'typing', from_id: 1, to_id: -GROUP_ID }), event('message_new', {}), event('message_new', { message: 'x' }), event('message_event', { payload: 1 })]) {
      const res = await app.inject({ method: 'POST', url: VK_CALLBACK_PATH, payload: body });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('ok');
    }
    await bot.drain();
    expect(errorsLogged().slice(before)).toEqual([]);
  });

  it('a message in a group chat is not answered', async () => {
    const body = textEvent(2_000_000_005, '/start');
    (body.object.message as Record<string, unknown>).from_id = 42;
    expect((await app.inject({ method: 'POST', url: VK_CALLBACK_PATH, payload: body })).body).toBe('ok');
    await bot.drain();
    expect(fake.sent(2_000_000_005)).toEqual([]);
  });
});

describe('VK community bot: the flows', () => {
  it('joins with a typed phone; VK keyboards and callback buttons; then the menu, the card as a photo', async () => {
    const anna = vkUser({ firstName: 'Анна' });
    const phone = testPhone();
    anna.pressStart();
    const greeting = await anna.waitForText('Здравствуйте, Анна!');
    expect(greeting.text).toMatch(/напишите ваш номер телефона/);
    expect(greeting.text).not.toMatch(/<\/?b>/);
    // VK has no share-phone button: the menu is hidden, the number is typed.
    expect(greeting.keyboard).toEqual({ inline: false, oneTime: true, buttons: [] });

    anna.sendText('мой номер 12');
    await anna.waitForText('Не получилось распознать номер телефона');
    anna.sendText(typed(phone));
    await anna.waitForText(TYPED_ANSWER);
    anna.sendText('Анна <Ивановна>');
    const consent = await anna.waitForText('остался последний шаг');
    expect(consent.text).toContain('Анна <Ивановна>, остался');
    expect(consent.keyboard?.inline).toBe(true);
    expect(consent.keyboard?.buttons.flat().map((b) => [b.type, b.label])).toEqual([
      ['callback', '✅ Даю согласие'],
      ['callback', 'Отказаться'],
    ]);
    const press = anna.pressButton('✅ Даю согласие');
    const welcome = await anna.waitForText('Добро пожаловать в программу, Анна <Ивановна>!');
    // A typed number proves nothing: the welcome bonus waits for the proof.
    expect(welcome.text).not.toMatch(/Приветственный бонус: \+/);
    expect(welcome.text).toContain('Приветственный бонус начислим, когда номер телефона будет подтверждён');
    expect(anna.lastKeyboard()).toEqual(RU_MENU);
    expect(fake.unansweredEvents()).not.toContain(press.object.event_id);

    const member = await t.core.members.findByIdentity(`vk:${anna.id}`);
    expect(member).toMatchObject({ phone, joinedVia: 'vk', name: 'Анна <Ивановна>' });

    anna.pressButton('💰 Баланс');
    await anna.waitForText(/На карте: 0 баллов/);
    anna.pressButton('💳 Моя карта');
    const card = await anna.waitForText(`Ваша карта: ${member!.cardNumber!}`);
    expect(card.attachments).toHaveLength(1);
    expect(card.attachments[0]!.kind).toBe('photo');
    expect(card.attachments[0]!.data.subarray(1, 4).toString('latin1')).toBe('PNG');
    // A label typed by hand is the same button.
    anna.sendText('помощь');
    await anna.waitForText('Что умеет бот');
    anna.pressButton('⚙️ Настройки');
    await anna.waitForText('Настройки');
    anna.pressButton('English');
    await anna.waitForText('Done: I will speak English from now on.');
    expect(anna.lastKeyboard()?.[0]).toEqual(['💰 Balance', '💳 My card']);
    expect(errorsLogged()).toEqual([]);
  });

  it('speaks English to a VK client in English; a client without inline keyboards gets a one-time keyboard', async () => {
    const john = vkUser({ firstName: 'John', langId: 3, inlineKeyboard: false, buttonActions: ['text'] });
    john.pressStart();
    await john.waitForText('Hello, John!');
    john.sendText('+7 999 555-01-0' + String(nextUserId % 10));
    await john.waitForText('If you are new here, type what we should call you.');
    john.sendText('John');
    const consent = await john.waitForText('one last step');
    expect(consent.keyboard).toMatchObject({ inline: false, oneTime: true });
    john.pressButton('✅ I agree');
    await john.waitForText('Welcome to the programme, John!');
  });

  it('a referral link vk.me/<community>?ref=<code>: the bonuses of a typed number wait until the till confirms it', async () => {
    const olga = tgUser('Ольга');
    const olgaCard = await joinTelegram(olga, testPhone(), 'Ольга');
    olga.sendText('🎁 Пригласить друга');
    const invite = await olga.waitForText('Приглашайте друзей');
    const code = /ref_([a-z0-9]+)/.exec(invite.text ?? '')![1]!;
    expect(invite.text).toContain(`https://vk.me/shop_loyalty?ref=${code}`);

    // The dialogue opened by the link: its first message carries the ref.
    const pavel = vkUser({ firstName: 'Павел' });
    pavel.sendText('Привет', { ref: code, refSource: 'link' });
    const greeting = await pavel.waitForText('Здравствуйте, Павел!');
    expect(greeting.text).toMatch(/Вас пригласил друг: после регистрации вы оба получите ещё по 3\s000 баллов/);
    const phone = testPhone();
    pavel.sendText(typed(phone));
    await pavel.waitForText(TYPED_ANSWER);
    pavel.sendText('Павел');
    await pavel.waitForText('остался последний шаг');
    pavel.pressButton('✅ Даю согласие');
    const welcome = await pavel.waitForText('Добро пожаловать в программу, Павел!');
    expect(welcome.text).not.toMatch(/Бонус за приглашение/);
    const pavelCard = /Ваша карта: (\d+)/.exec(welcome.text)![1]!;
    expect((await t.core.cards.byNumber(olgaCard))?.balance).toBe(1000);
    expect((await t.core.cards.byNumber(pavelCard))?.balance).toBe(0);

    // At the till Pavel shows his card and gives his number: the shop vouches, the bonuses come.
    const confirmed = await till('POST', '/members', { phone, name: 'Павел', consent: true, cardNumber: pavelCard });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json()).toMatchObject({ cardNumber: pavelCard, created: false, balance: 4000 });
    expect((await t.core.cards.byNumber(olgaCard))?.balance).toBe(4000);
    // The inviter hears of it in Telegram, through the notify worker.
    await olga.waitForText(/^\+3\s000 баллов: друг присоединился по вашей ссылке, баланс 4\s000$/, 10_000);
    // Confirming again gives nothing more.
    expect((await till('POST', '/members', { phone, name: 'Павел', consent: true, cardNumber: pavelCard })).json()).toMatchObject({ balance: 4000 });
  });
});

describe('VK: a phone that is already a member', () => {
  it("of a Telegram member: a code goes to their Telegram; a wrong code is refused, the right one links; no second card", async () => {
    const phone = testPhone();
    const existing = await t.core.members.enroll({ channel: 'telegram', identity: 'telegram:7001', phone, name: 'Ольга', consent: true, proved: true });
    const tgOlga = tg.user(7001);

    const vkOlga = vkUser({ firstName: 'Оля' });
    vkOlga.pressStart();
    await vkOlga.waitForText('Здравствуйте, Оля!');
    vkOlga.sendText(typed(phone));
    const asked = await vkOlga.waitForText(TYPED_ANSWER);
    expect(asked.text).toContain('10 минут');
    // The answer names no messenger, and typing the number linked nothing.
    expect(asked.text).not.toMatch(/Telegram/);
    expect(await t.core.members.findByIdentity(`vk:${vkOlga.id}`)).toBeNull();

    // The code travels as a domain event through the outbox to the member's Telegram chat.
    const notice = await tgOlga.waitForText(/Код подтверждения: (\d{6})/, 10_000);
    expect(notice.text).toContain(`https://vk.com/id${vkOlga.id}`);
    const code = /Код подтверждения: (\d{6})/.exec(notice.text!)![1]!;
    const proof = await t.conn.collection('phone_proofs').findOne({ identity: `vk:${vkOlga.id}` });
    expect(proof).toMatchObject({ memberId: String(existing.member._id), status: 'pending', attempts: 0 });
    expect(JSON.stringify(proof)).not.toContain(code);
    expect(JSON.stringify(proof)).not.toContain(phone.slice(2));

    const wrong = code === '000000' ? '111111' : '000000';
    vkOlga.sendText(wrong);
    await vkOlga.waitForText('Код не подходит. Осталось попыток: 4.');
    expect(await t.core.members.findByIdentity(`vk:${vkOlga.id}`)).toBeNull();

    vkOlga.sendText(`${code.slice(0, 3)} ${code.slice(3)}`);
    const back = await vkOlga.waitForText('С возвращением, Ольга!');
    expect(back.text).toContain(existing.card._id);
    expect(vkOlga.lastKeyboard()).toEqual(RU_MENU);
    const linked = await t.core.members.findByIdentity(`vk:${vkOlga.id}`);
    expect(String(linked?._id)).toBe(String(existing.member._id));
    expect(await t.conn.collection('members').countDocuments({ phone })).toBe(1);
    expect(await t.conn.collection('cards').countDocuments({ memberId: String(existing.member._id) })).toBe(1);

    // The code is spent: the same code again is just an unknown text for a member now.
    vkOlga.pressButton('💰 Баланс');
    await vkOlga.waitForText(/На карте: 1\s000 баллов/);
    expect(tgOlga.inbox().filter((m) => /Код подтверждения/.test(m.text ?? ''))).toHaveLength(1);
  });

  it('five wrong codes kill the code; an expired code is refused', async () => {
    const phone = testPhone();
    await t.core.members.enroll({ channel: 'telegram', identity: 'telegram:7002', phone, name: 'Игорь', consent: true, proved: true });
    const mallory = vkUser({ firstName: 'Мэл' });
    mallory.pressStart();
    await mallory.waitForText('Здравствуйте, Мэл!');
    mallory.sendText(typed(phone));
    await mallory.waitForText(TYPED_ANSWER);
    const notice = await tg.user(7002).waitForText(/Код подтверждения: (\d{6})/, 10_000);
    const code = /(\d{6})/.exec(notice.text!)![1]!;
    const wrong = code === '123456' ? '654321' : '123456';
    for (let left = PHONE_PROOF_LIMITS.maxAttempts - 1; left > 0; left--) {
      mallory.sendText(wrong);
      await mallory.waitForText(`Осталось попыток: ${left}.`);
    }
    mallory.sendText(wrong);
    await mallory.waitForText('Слишком много неверных попыток');
    // Even the right code does nothing now.
    mallory.sendText(code);
    await mallory.waitForText('Код сейчас не ожидается');
    expect(await t.core.members.findByIdentity(`vk:${mallory.id}`)).toBeNull();

    // A new code, left to expire.
    mallory.sendText(typed(phone));
    await mallory.waitForText(TYPED_ANSWER);
    const second = await tg.user(7002).waitForText(/Код подтверждения: (\d{6})/, 10_000);
    t.clock.advance(PHONE_PROOF_LIMITS.codeTtlMs + 1000);
    mallory.sendText(/(\d{6})/.exec(second.text!)![1]!);
    await mallory.waitForText('Срок действия кода истёк');
    expect(await t.core.members.findByIdentity(`vk:${mallory.id}`)).toBeNull();
  });

  it('answers the same whatever the number: a Telegram member\'s, a till member\'s (no chat), nobody\'s; a name then makes a card of one\'s own', async () => {
    const tgPhone = testPhone();
    await joinTelegram(tgUser('Тамара'), tgPhone, 'Тамара');
    const tillPhone = testPhone();
    const tillMember = await t.core.members.enroll({ channel: 'till', phone: tillPhone, name: 'Пётр', consent: true });
    const answers: string[] = [];
    const cards: string[] = [];
    for (const phone of [tgPhone, tillPhone, testPhone()]) {
      const who = vkUser({ firstName: 'Гость' });
      who.pressStart();
      await who.waitForText('Здравствуйте, Гость!');
      who.sendText(typed(phone));
      answers.push((await who.waitForText(TYPED_ANSWER)).text);
      who.sendText('Гость');
      await who.waitForText('остался последний шаг');
      who.pressButton('✅ Даю согласие');
      const welcome = await who.waitForText('Добро пожаловать в программу, Гость!');
      const card = /Ваша карта: (\d+)/.exec(welcome.text)![1]!;
      cards.push(card);
      answers.push(welcome.text.replace(card, '<card>'));
      // A card of its own, with nothing of anyone else's on it.
      const mine = await t.core.members.findByIdentity(`vk:${who.id}`);
      expect(mine?.cardNumber).toBe(card);
      expect((await t.core.cards.byNumber(card))?.balance).toBe(0);
    }
    expect(answers[2]).toBe(answers[0]);
    expect(answers[4]).toBe(answers[0]);
    expect(answers[3]).toBe(answers[1]);
    expect(answers[5]).toBe(answers[1]);
    // The numbers stay with their holders: the till still finds them, not the typists.
    expect((await till('GET', `/cards?phone=${encodeURIComponent(tillPhone)}`)).json()).toMatchObject({ number: tillMember.card._id, name: 'Пётр' });
    expect((await till('GET', `/cards?phone=${encodeURIComponent(tgPhone)}`)).json().name).toBe('Тамара');
    expect(new Set(cards).size).toBe(3);
  });
});

describe('typed numbers borrow no account (both orders)', () => {
  it('typed first, then proved by its owner in Telegram: the owner gets a card of their own, the typist loses the number and is told', async () => {
    const phone = testPhone();
    const stranger = vkUser({ firstName: 'Сергей' });
    const strangerCard = await joinVk(stranger, phone, 'Сергей');
    // A typed number finds nobody at the till, and earns no welcome bonus.
    expect((await till('GET', `/cards?phone=${encodeURIComponent(phone)}`)).statusCode).toBe(404);
    expect((await till('POST', '/purchases', { receiptId: `typed-${stranger.id}`, phone, total: 50_000 })).statusCode).toBe(404);
    // The stranger's own purchase, by card, is theirs.
    expect((await till('POST', '/purchases', { receiptId: `own-${stranger.id}`, cardNumber: strangerCard, total: 100_000 })).json()).toMatchObject({ accrued: 30, balance: 30 });

    const owner = tgUser('Ольга');
    const ownerCard = await joinTelegram(owner, phone, 'Ольга');
    expect(ownerCard).not.toBe(strangerCard);
    const welcome = owner.inbox().find((m) => /Добро пожаловать/.test(m.text ?? ''))!;
    expect(welcome.text).toMatch(/Приветственный бонус: \+1\s000 баллов/);
    expect(welcome.text).not.toContain('Сергей');
    // The number is the owner's now: the till finds the owner's card, the stranger keeps theirs without it.
    expect((await till('GET', `/cards?phone=${encodeURIComponent(phone)}`)).json()).toMatchObject({ number: ownerCard, name: 'Ольга', balance: 1000 });
    expect((await till('GET', `/cards/${strangerCard}`)).json()).toMatchObject({ number: strangerCard, balance: 30, maskedPhone: null });
    const strangerMember = await t.core.members.findByIdentity(`vk:${stranger.id}`);
    expect(strangerMember?.phone).not.toBe(phone);
    expect(await t.core.members.findByIdentity(`telegram:${owner.info.id}`)).toMatchObject({ phone, cardNumber: ownerCard });

    // The stranger is told on the next visit, once, and keeps their card.
    stranger.pressButton('💰 Баланс');
    await stranger.waitForText('подтвердил его владелец');
    await stranger.waitForText(/На карте: 30 баллов/);
    stranger.pressButton('💰 Баланс');
    await stranger.waitForText(/На карте: 30 баллов/);
    expect(stranger.inbox().filter((m) => /подтвердил его владелец/.test(m.text))).toHaveLength(1);
  });

  it('proved first, then typed by a stranger: the stranger reaches nothing of the owner\'s, and the owner is told someone asked', async () => {
    const phone = testPhone();
    const owner = tgUser('Мария');
    const ownerCard = await joinTelegram(owner, phone, 'Мария');
    await till('POST', '/purchases', { receiptId: `maria-${owner.info.id}`, cardNumber: ownerCard, total: 100_000 });

    const stranger = vkUser({ firstName: 'Вор' });
    const strangerCard = await joinVk(stranger, phone, 'Вор');
    expect(strangerCard).not.toBe(ownerCard);
    await owner.waitForText(/Код подтверждения/, 10_000);
    stranger.pressButton('💰 Баланс');
    await stranger.waitForText(/На карте: 0 баллов/);
    stranger.pressButton('📜 История');
    await stranger.waitForText('Операций по карте пока нет');
    expect(stranger.inbox().map((m) => m.text).join('\n')).not.toContain('Мария');
    // The owner keeps the number and the card; the till still finds the owner.
    expect((await till('GET', `/cards?phone=${encodeURIComponent(phone)}`)).json()).toMatchObject({ number: ownerCard, name: 'Мария', balance: 1030 });
    expect((await t.core.members.findByIdentity(`vk:${stranger.id}`))?.phone).not.toBe(phone);
  });

  it('the till enrolling a number someone only typed takes it for the customer at the counter', async () => {
    const phone = testPhone();
    const stranger = vkUser({ firstName: 'Костя' });
    const strangerCard = await joinVk(stranger, phone, 'Костя');
    const enrolled = await till('POST', '/members', { phone, name: 'Настоящий', consent: true });
    expect(enrolled.statusCode).toBe(201);
    expect(enrolled.json()).toMatchObject({ created: true, balance: 1000 });
    expect(enrolled.json().cardNumber).not.toBe(strangerCard);
    expect((await till('GET', `/cards?phone=${encodeURIComponent(phone)}`)).json().name).toBe('Настоящий');
    const member = await t.core.members.byId(enrolled.json().memberId as string);
    expect(member?.consent).toMatchObject({ channel: 'till', by: 'cashier' });
    stranger.pressButton('💰 Баланс');
    await stranger.waitForText('подтвердил его владелец');
    // A number someone proved cannot be taken by showing another card.
    expect((await till('POST', '/members', { phone, name: 'Костя', consent: true, cardNumber: strangerCard })).json().error.code).toBe('member_exists');
  });
});

describe('VK: delivery', () => {
  it('a send retried with the same random_id does not show twice', async () => {
    const kim = vkUser({ firstName: 'Ким' });
    const update = kim.pressStart();
    await kim.waitForText('Здравствуйте, Ким!');
    // The same update handled a second time (its guard gone, as after a lost Redis key): the
    // answer is sent again with the same random_id, and VK shows it once.
    await redis.del(`${prefix}:vk:update:${GROUP_ID}:${update.event_id}`);
    expect((await fake.deliverAgain(update.event_id)).body).toBe('ok');
    await expect.poll(() => fake.calls.filter((c) => c.method === 'messages.send' && c.params.peer_id === String(kim.id)).length).toBe(2);
    const sends = fake.calls.filter((c) => c.method === 'messages.send' && c.params.peer_id === String(kim.id));
    expect(sends[0]!.params.random_id).toBe(sends[1]!.params.random_id);
    expect(Number(sends[0]!.params.random_id)).toBe(randomIdFor(kim.id, `event:${update.event_id}`, 0));
    expect(kim.inbox()).toHaveLength(1);
  });

  it('error 9 (flood control) is waited out and the message sent once; a lasting one drops the answer without an error', async () => {
    const nina = vkUser({ firstName: 'Нина' });
    fake.failNext('messages.send', 1, { error_code: 9, error_msg: 'Flood control' });
    nina.pressStart();
    await nina.waitForText('Здравствуйте, Нина!');
    const tries = fake.calls.filter((c) => c.method === 'messages.send' && c.params.peer_id === String(nina.id));
    expect(tries.map((c) => c.error)).toEqual([9, null]);
    expect(tries[0]!.params.random_id).toBe(tries[1]!.params.random_id);
    expect(nina.inbox()).toHaveLength(1);

    const before = { errors: errorsLogged().length, warnings: warnings().length };
    fake.failNext('messages.send', 3, { error_code: 9, error_msg: 'Flood control' });
    nina.sendText(typed(testPhone()));
    await expect.poll(() => warnings().slice(before.warnings)).toContain('vk: flood control, answer not sent');
    expect(errorsLogged().length).toBe(before.errors);
    expect(nina.inbox()).toHaveLength(1);
    // The flow went on; the next answer arrives.
    nina.sendText('Нина');
    await nina.waitForText('остался последний шаг');
  });

  it('a flooded VK user does not hold up anyone else\'s notices: theirs is put back and sent after the pause', async () => {
    const [alla, boris] = [vkUser({ firstName: 'Алла' }), vkUser({ firstName: 'Борис' })];
    const allaCard = await joinVk(alla, testPhone(), 'Алла');
    const borisCard = await joinVk(boris, testPhone(), 'Борис');
    // VK refuses the next message, Alla's notice (first in the queue), with error 9.
    fake.failNext('messages.send', 1, { error_code: 9, error_msg: 'Flood control' });
    await t.core.purchases.purchase({ storeId: 's1', receiptId: `flood-${alla.id}`, cardNumber: allaCard, totalKopecks: 70_000 });
    await t.core.purchases.purchase({ storeId: 's1', receiptId: `flood-${boris.id}`, cardNumber: borisCard, totalKopecks: 70_000 });
    await boris.waitForText(/^\+21 балл за покупку/, 10_000);
    await alla.waitForText(/^\+21 балл за покупку/, 10_000);
    const sends = fake.calls.filter((c) => c.method === 'messages.send' && /за покупку/.test(c.params.message ?? ''));
    const flooded = sends.findIndex((c) => c.params.peer_id === String(alla.id) && c.error === 9);
    const toBoris = sends.findIndex((c) => c.params.peer_id === String(boris.id) && c.error === null);
    const toAlla = sends.findIndex((c) => c.params.peer_id === String(alla.id) && c.error === null);
    // Boris was served while Alla's job waited out the pause (the worker runs one job at a time).
    expect(flooded).toBeGreaterThanOrEqual(0);
    expect(flooded).toBeLessThan(toBoris);
    expect(toBoris).toBeLessThan(toAlla);
    // The same random_id both times, and one notice each.
    expect(sends[flooded]!.params.random_id).toBe(sends[toAlla]!.params.random_id);
    expect(alla.inbox().filter((m) => /за покупку/.test(m.text))).toHaveLength(1);
    expect(boris.inbox().filter((m) => /за покупку/.test(m.text))).toHaveLength(1);
  });

  it('a purchase notice reaches a VK member, once, with a random_id of the event', async () => {
    const ivan = vkUser({ firstName: 'Иван' });
    const cardNumber = await joinVk(ivan, testPhone(), 'Иван');
    const { result } = await t.core.purchases.purchase({ storeId: 's1', receiptId: `vk-e2e-${ivan.id}`, cardNumber, totalKopecks: 70_000 });
    expect(result.accrued).toBe(21);
    const notice = await ivan.waitForText(/^\+21 балл за покупку, баланс 21$/, 10_000);
    const entry = await t.conn.collection('ledger_entries').findOne({ card: cardNumber, type: 'purchase' });
    expect(notice.random_id).toBe(randomIdFor(ivan.id, `notify:entry:${String(entry!._id)}`, 0));
  });
});
