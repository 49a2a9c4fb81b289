import type { AddressInfo } from 'node:net';
import type { Job, Queue } from 'bullmq';
import type { Bot } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { TELEGRAM_WEBHOOK_PATH, telegramWebhookRoutes } from '../../api/routes/telegram-webhook.routes.js';
import { createFlows } from '../../bots/flows/flows.service.js';
import { createTelegramApi, createTelegramBot, type EnabledTelegramConfig } from '../../bots/telegram/telegram.bot.js';
import { commandList } from '../../bots/telegram/telegram.commands.js';
import { telegramSender } from '../../bots/telegram/telegram.render.js';
import { startTelegram, type TelegramHandle } from '../../bots/telegram/telegram.runner.js';
import { DOMAIN_EVENTS_QUEUE, jobIdFor, type DomainEvent } from '../../core/events/event.types.js';
import { createI18n, type I18n } from '../../core/i18n/i18n.js';
import { createLogger, type Logger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis.js';
import { NOTIFIED_TTL_SECONDS, notifiedKey, startNotifyWorker } from '../../workers/notifications/notify.worker.js';
import { startOutboxRelay } from '../../workers/outbox/outbox-relay.worker.js';
import { createQueueEventSink } from '../../infra/event-sink.js';
import { startFakeTelegram, type FakeTelegram, type FakeUser } from '../fakes/telegram.fake.js';
import { testCore, testPhone, type TestCore } from '../helpers/core.js';
import { testQueues, testRedis } from '../helpers/env.js';

/**
 * The Telegram channel end to end: the real grammY bot (runner, auto-retry) talks over HTTP to
 * the fake Bot API server, the real flows run on FerretDB, notifications go through the real
 * outbox relay, BullMQ and Redis. Nothing of ours is mocked.
 */

let fake: FakeTelegram;
let t: TestCore;
let i18n: I18n;
let redis: Redis;
const logLines: { level: number; msg: string }[] = [];
let logger: Logger;

beforeAll(async () => {
  fake = await startFakeTelegram({ botUsername: 'shop_loyalty_bot' });
  t = await testCore();
  i18n = await createI18n();
  redis = await testRedis();
  logger = createLogger('warn', {
    write: (line: string) => {
      const o = JSON.parse(line) as { level: number; msg: string };
      logLines.push(o);
    },
  });
});

afterAll(async () => {
  redis.disconnect();
  await fake.close();
  await t.close();
});

const POLLING: EnabledTelegramConfig['mode'] = { kind: 'polling' };

function configFor(mode: EnabledTelegramConfig['mode'] = POLLING): EnabledTelegramConfig {
  return { enabled: true, token: fake.token, apiRoot: fake.apiRoot, mode };
}

interface RunningBot {
  bot: Bot;
  handle: TelegramHandle;
  stop(): Promise<void>;
}

/** A bot as the bots role would run it: fresh flows and bot on the shared database. */
async function startBot(mode: EnabledTelegramConfig['mode'] = POLLING): Promise<RunningBot> {
  const config = configFor(mode);
  // As the bots role does it: getMe first, so the flows know the username for invite links.
  const me = await createTelegramApi(config).getMe();
  const flows = createFlows({ core: t.core, i18n, links: { telegramBot: me.username } });
  const bot = createTelegramBot({ config, flows, logger, i18n, botInfo: me });
  const handle = await startTelegram({ bot, config, logger, i18n });
  return { bot, handle, stop: () => handle.stop() };
}

async function withBot(fn: (running: RunningBot) => Promise<void>): Promise<void> {
  const running = await startBot();
  try {
    await fn(running);
  } finally {
    await running.stop();
  }
}

const errorsLogged = (): string[] => logLines.filter((l) => l.level >= 50).map((l) => l.msg);

/** Telegram sends the sender's own number without '+'. */
const wirePhone = (e164: string): string => e164.slice(1);

/** Joins in Russian through the whole dialogue; resolves with the card number. */
async function joinRu(user: FakeUser, phone: string, name: string, payload?: string): Promise<string> {
  user.sendCommand('start', payload);
  await user.waitForText(/Здравствуйте, .+! Это бонусная программа/);
  expect(user.lastKeyboard()).toEqual([['📱 Поделиться номером']]);
  user.shareContact(wirePhone(phone));
  await user.waitForText('Как к вам обращаться?');
  user.sendText(name);
  await user.waitForText('остался последний шаг');
  user.pressButtonWithText('✅ Даю согласие');
  const welcome = await user.waitForText(`Добро пожаловать в программу, ${name}!`);
  // Then the marketing question, its own message: the join is over once it is here.
  await user.waitForText('Присылать вам сюда акции');
  const card = /Ваша карта: (\d+)/.exec(welcome.text ?? '')?.[1];
  expect(card).toBeDefined();
  return card!;
}

const RU_MENU = [
  ['💰 Баланс', '💳 Моя карта'],
  ['📜 История', '🎁 Пригласить друга'],
  ['⚙️ Настройки', '❓ Помощь'],
  ['🏬 Где действует карта'],
];

describe('Telegram bot end to end (polling)', () => {
  it('joins in Russian: phone by contact button, name, consent; then the menu works', async () => {
    await withBot(async () => {
      const anna = fake.user(2001, { firstName: 'Анна', languageCode: 'ru' });
      const phone = testPhone();
      anna.sendCommand('start');
      const greeting = await anna.waitForText('Здравствуйте, Анна!');
      expect(greeting.text).toMatch(/приветственный бонус/);
      expect(greeting.text).toMatch(/1\s000 баллов/);
      expect(greeting.reply_markup).toMatchObject({ keyboard: [[{ text: '📱 Поделиться номером', request_contact: true }]], one_time_keyboard: true });

      anna.sendText('+7 999 000-00-00');
      await anna.waitForText('нажмите кнопку «📱 Поделиться номером»');

      anna.shareContact(wirePhone(phone));
      const askName = await anna.waitForText('Как к вам обращаться?');
      expect(askName.reply_markup).toEqual({ remove_keyboard: true });

      anna.sendText('Анна <Ивановна>');
      const consent = await anna.waitForText('остался последний шаг');
      expect(consent.raw).toContain('Анна &lt;Ивановна&gt;');
      expect(anna.lastInlineButtons()).toEqual([['✅ Даю согласие', 'Отказаться']]);
      anna.pressButtonWithText('✅ Даю согласие');

      const welcome = await anna.waitForText('Добро пожаловать в программу, Анна <Ивановна>!');
      expect(welcome.text).toMatch(/Приветственный бонус: \+1\s000 баллов/);
      expect(anna.lastKeyboard()).toEqual(RU_MENU);
      expect(fake.unansweredCallbacks()).toEqual([]);
      const cardNumber = /Ваша карта: (\d+)/.exec(welcome.text!)![1]!;

      const member = await t.core.members.findByIdentity('telegram:2001');
      expect(member).toMatchObject({ phone, name: 'Анна <Ивановна>', language: 'ru', cardNumber });

      // Menu buttons send their label; they come back as actions.
      anna.sendText('💰 Баланс');
      await anna.waitForText(/На карте: 1\s000 баллов/);
      anna.sendText('💳 Моя карта');
      const card = await anna.waitForText(`Ваша карта: ${cardNumber}`);
      expect(card.method).toBe('sendPhoto');
      expect(card.parse_mode).toBe('HTML');
      // A sticker (no text) gets the menu.
      fake.pushUpdate({ message: { message_id: 999, date: 0, chat: { id: 2001, type: 'private', first_name: 'Анна' }, from: anna.info, sticker: { file_id: 's', file_unique_id: 's', type: 'regular', width: 1, height: 1, is_animated: false, is_video: false } } });
      await anna.waitForText('Не совсем понял вас');
    });
    expect(errorsLogged()).toEqual([]);
  });

  it('joins in English for a user whose Telegram is in English', async () => {
    await withBot(async () => {
      const john = fake.user(2002, { firstName: 'John', languageCode: 'en-GB' });
      john.sendCommand('start');
      const greeting = await john.waitForText('Hello, John!');
      expect(greeting.text).toMatch(/1,000 points as a welcome bonus/);
      expect(john.lastKeyboard()).toEqual([['📱 Share my phone number']]);
      john.shareContact(wirePhone(testPhone()));
      await john.waitForText('What should we call you?');
      john.sendText('John');
      await john.waitForText('one last step');
      john.pressButtonWithText('✅ I agree');
      const welcome = await john.waitForText('Welcome to the programme, John!');
      expect(welcome.text).toMatch(/Welcome bonus: \+1,000 points/);
      expect(john.lastKeyboard()?.[0]).toHaveLength(2);
      expect(await t.core.members.findByIdentity('telegram:2002')).toMatchObject({ language: 'en' });
      john.sendCommand('balance');
      await john.waitForText(/On your card: 1,000 points/);
    });
    expect(errorsLogged()).toEqual([]);
  });

  it("refuses someone else's contact and changes nothing", async () => {
    await withBot(async () => {
      const eve = fake.user(2003, { firstName: 'Ева', languageCode: 'ru' });
      const phone = testPhone();
      eve.sendCommand('start');
      await eve.waitForText('Здравствуйте, Ева!');
      eve.shareContact(wirePhone(phone), { userId: 4242, firstName: 'Пётр' });
      const refused = await eve.waitForText('Это не ваш номер');
      expect(refused.reply_markup).toMatchObject({ keyboard: [[{ request_contact: true }]] });
      expect(await t.core.members.findByPhone(phone)).toBeNull();
      expect(await t.core.members.findByIdentity('telegram:2003')).toBeNull();
      expect(await t.conn.collection('conversations').findOne({ _id: 'telegram:2003' as never })).toMatchObject({ step: 'join.phone' });
    });
  });

  it('two members joined through an invite link both get the referral bonus; the inviter is notified', async () => {
    const queues = testQueues();
    const sink = createQueueEventSink([queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE)]);
    const detach = t.events.attach(sink);
    const relay = startOutboxRelay({ outbox: t.core.outbox, sink, logger, busyMs: 20, idleMs: 100 });
    const flows = createFlows({ core: t.core, i18n, links: { telegramBot: fake.botUsername } });
    const notify = startNotifyWorker({ queues, flows, senders: { telegram: telegramSender(createTelegramApi(configFor())) }, redis, logger });
    const handled: string[] = [];
    notify.worker.on('completed', (job) => handled.push(job.id ?? ''));
    let pavelCard = '';
    try {
      await withBot(async () => {
        const olga = fake.user(2004, { firstName: 'Ольга', languageCode: 'ru' });
        const olgaCard = await joinRu(olga, testPhone(), 'Ольга');
        olga.sendText('🎁 Пригласить друга');
        const invite = await olga.waitForText('Приглашайте друзей');
        const link = /https:\/\/t\.me\/shop_loyalty_bot\?start=(ref_[a-z0-9]+)/.exec(invite.text!);
        expect(link).not.toBeNull();

        const pavel = fake.user(2005, { firstName: 'Павел', languageCode: 'ru' });
        pavel.sendCommand('start', link![1]);
        const greeting = await pavel.waitForText('Здравствуйте, Павел!');
        expect(greeting.text).toMatch(/Вас пригласил друг: после регистрации вы оба получите ещё по 3\s000 баллов/);
        pavel.shareContact(wirePhone(testPhone()));
        await pavel.waitForText('Как к вам обращаться?');
        pavel.sendText('Павел');
        await pavel.waitForText('остался последний шаг');
        pavel.pressButtonWithText('✅ Даю согласие');
        const welcome = await pavel.waitForText('Добро пожаловать в программу, Павел!');
        expect(welcome.text).toMatch(/Бонус за приглашение: \+3\s000 баллов/);
        expect(welcome.text).toMatch(/Баланс: 4\s000 баллов/);

        pavelCard = /Ваша карта: (\d+)/.exec(welcome.text!)![1]!;
        expect((await t.core.cards.byNumber(pavelCard))?.balance).toBe(4000);
        expect((await t.core.cards.byNumber(olgaCard))?.balance).toBe(4000);

        // The inviter hears of it through the outbox → BullMQ → notify worker.
        await olga.waitForText(/^\+3\s000 баллов: друг присоединился по вашей ссылке, баланс 4\s000$/, 10_000);
      });
      // The friend was told in the join answer itself; no second notice for the same bonus, once
      // the notify worker has handled the events of both of the friend's bonuses.
      const bonuses = await t.conn.collection('ledger_entries').find({ card: pavelCard, type: { $in: ['welcome', 'referral'] } }).toArray();
      expect(bonuses).toHaveLength(2);
      await expect.poll(() => bonuses.every((e) => handled.includes(jobIdFor(`entry:${String(e._id)}`))), { timeout: 10_000 }).toBe(true);
      expect(fake.user(2005).inbox().filter((m) => /баланс/.test(m.text ?? '') && /^\+/.test(m.text ?? ''))).toEqual([]);
    } finally {
      detach();
      await relay.close();
      await notify.close();
      await queues.close();
    }
    expect(errorsLogged()).toEqual([]);
  });

  it('erasing one\'s data and joining again by the same link mints nothing; the monthly referral cap counts phones, not members', async () => {
    const s = await t.core.settings.current();
    await t.core.settings.update({ referral: { ...s.referral, monthlyCap: 1 } });
    try {
      await withBot(async () => {
        const host = fake.user(2301, { firstName: 'Хозяйка', languageCode: 'ru' });
        const hostCard = await joinRu(host, testPhone(), 'Хозяйка');
        const code = (await t.core.members.findByIdentity('telegram:2301'))!.referralCode;

        const friend = fake.user(2302, { firstName: 'Друг', languageCode: 'ru' });
        const phone = testPhone();
        const first = await joinRu(friend, phone, 'Друг', `ref_${code}`);
        expect((await t.core.cards.byNumber(first))?.balance).toBe(4000);
        expect((await t.core.cards.byNumber(hostCard))?.balance).toBe(4000);

        // "Delete my data", then the same link and the same phone again.
        friend.sendText('⚙️ Настройки');
        await friend.waitForText('Настройки');
        friend.pressButtonWithText('🗑 Удалить мои данные');
        await friend.waitForText('Удалить ваши данные?');
        friend.pressButtonWithText('Да, удалить');
        await friend.waitForText('Ваши данные удалены');
        const second = await joinRu(friend, phone, 'Друг', `ref_${code}`);
        expect(second).not.toBe(first);
        const welcome = friend.inbox().filter((m) => /Добро пожаловать/.test(m.text ?? '')).at(-1)!;
        expect(welcome.text).not.toMatch(/Приветственный бонус: \+|Бонус за приглашение/);
        expect((await t.core.cards.byNumber(second))?.balance).toBe(0);
        expect((await t.core.cards.byNumber(hostCard))?.balance).toBe(4000);

        // The cap of one invitation this month was used by that phone, whatever became of its member.
        const other = fake.user(2303, { firstName: 'Ещё', languageCode: 'ru' });
        const third = await joinRu(other, testPhone(), 'Ещё', `ref_${code}`);
        expect((await t.core.cards.byNumber(third))?.balance).toBe(1000);
        expect((await t.core.cards.byNumber(hostCard))?.balance).toBe(4000);
        // The ledger holds exactly one welcome bonus for the friend's phone and two referral bonuses.
        expect(await t.conn.collection('ledger_entries').countDocuments({ card: { $in: [first, second] }, type: 'welcome' })).toBe(1);
        expect(await t.conn.collection('ledger_entries').countDocuments({ card: { $in: [first, second, hostCard] }, type: 'referral' })).toBe(2);
      });
    } finally {
      await t.core.settings.update({ referral: s.referral });
    }
  });

  it('a new consent text asks an existing member again on their next visit, before anything else', async () => {
    const s = await t.core.settings.current();
    try {
      await withBot(async () => {
        const vera = fake.user(2311, { firstName: 'Вера', languageCode: 'ru' });
        await joinRu(vera, testPhone(), 'Вера');
        expect((await t.core.members.findByIdentity('telegram:2311'))?.consent).toMatchObject({ version: s.consentTextVersion, channel: 'telegram', by: 'member' });
        await t.core.settings.update({ consentTextVersion: '2026-07' });

        vera.sendText('💰 Баланс');
        const asked = await vera.waitForText('мы обновили текст согласия');
        expect(asked.text).toContain('Редакция текста согласия: 2026-07');
        expect(vera.lastInlineButtons()).toEqual([['✅ Даю согласие', '🗑 Удалить мои данные']]);
        // Nothing else until then.
        vera.sendText('📜 История');
        await vera.waitForText('мы обновили текст согласия');
        vera.pressButtonWithText('✅ Даю согласие');
        await vera.waitForText('Согласие с новой редакцией сохранено');
        expect((await t.core.members.findByIdentity('telegram:2311'))?.consent).toMatchObject({ version: '2026-07', channel: 'telegram', by: 'member' });
        vera.sendText('💰 Баланс');
        await vera.waitForText(/На карте: 1\s000 баллов/);
      });
    } finally {
      await t.core.settings.update({ consentTextVersion: s.consentTextVersion });
    }
  });

  it('a till purchase gives exactly one notification with the right plural, even when the event is relayed twice', async () => {
    const queues = testQueues();
    const queue: Queue<DomainEvent> = queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE);
    const sink = createQueueEventSink([queue]);
    const detach = t.events.attach(sink);
    const flows = createFlows({ core: t.core, i18n, links: { telegramBot: fake.botUsername } });
    const notify = startNotifyWorker({ queues, flows, senders: { telegram: telegramSender(createTelegramApi(configFor())) }, redis, logger });
    const completed: Job<DomainEvent>[] = [];
    notify.worker.on('completed', (job) => completed.push(job));
    try {
      const ivan = fake.user(2006, { firstName: 'Иван', languageCode: 'ru' });
      let cardNumber = '';
      await withBot(async () => {
        cardNumber = await joinRu(ivan, testPhone(), 'Иван');
      });

      // 700 ₽ at the base 3% → 21 points: "21 балл" (the _one form of ru).
      const { result } = await t.core.purchases.purchase({ storeId: 's1', receiptId: 'tg-e2e-1', cardNumber, totalKopecks: 70_000 });
      expect(result.accrued).toBe(21);
      const notice = await ivan.waitForText(/^\+21 балл за покупку, баланс 1\s021$/, 10_000);
      expect(notice.method).toBe('sendMessage');

      const entry = await t.conn.collection('ledger_entries').findOne({ card: cardNumber, type: 'purchase' });
      const eventId = `entry:${String(entry!._id)}`;
      await expect.poll(() => completed.some((j) => j.id === jobIdFor(eventId)), { timeout: 5000 }).toBe(true);
      const event = (await queue.getJob(jobIdFor(eventId)))!.data;
      // The guard was taken for this event and this chat, for a week.
      const guard = notifiedKey(queues.prefix, eventId, 'telegram:2006');
      expect(await redis.get(guard)).toBe('1');
      expect(await redis.ttl(guard)).toBeGreaterThan(NOTIFIED_TTL_SECONDS - 60);

      // The entry's events are handed over again (as by a fold after a crash): the jobId drops them…
      const counts = await queue.getJobCounts();
      await sink.publish(t.events.published.filter((e) => e.id === eventId));
      expect(await queue.getJobCounts()).toEqual(counts);
      // …and once the first job is gone from BullMQ, the Redis guard drops it.
      await queue.add(event.type, event, { jobId: `${jobIdFor(eventId)}|replayed` });
      await expect.poll(() => completed.find((j) => j.id === `${jobIdFor(eventId)}|replayed`)?.returnvalue, { timeout: 5000 }).toEqual({ sent: 0, skipped: 1 });
      // That job is done, so nothing more can come of it.
      expect(ivan.inbox().filter((m) => /за покупку/.test(m.text ?? ''))).toHaveLength(1);

      // A bad payload fails for good, without retries.
      const bad = await queue.add('points.changed', { id: 'x', type: 'points.changed' } as unknown as DomainEvent, { jobId: 'bad-payload', attempts: 3 });
      await expect.poll(async () => (await queue.getJob(bad.id!))?.failedReason ?? '', { timeout: 5000 }).toMatch(/invalid domain event payload/);
      expect((await queue.getJob(bad.id!))?.attemptsMade).toBe(1);
    } finally {
      detach();
      await notify.close();
      await queues.close();
    }
  });

  it('a join cut by a restart continues with a new bot and new flows on the same database', async () => {
    const petr = fake.user(2007, { firstName: 'Пётр', languageCode: 'ru' });
    const first = await startBot();
    try {
      petr.sendCommand('start');
      await petr.waitForText('Здравствуйте, Пётр!');
      petr.shareContact(wirePhone(testPhone()));
      await petr.waitForText('Как к вам обращаться?');
    } finally {
      await first.stop();
    }
    // Sent while no bot runs: Telegram keeps it for the next one.
    petr.sendText('Пётр');
    expect(fake.pendingUpdates()).toHaveLength(1);
    expect(petr.lastText()).toBe('Спасибо! Как к вам обращаться? Напишите ваше имя.');

    await withBot(async () => {
      await petr.waitForText('Пётр, остался последний шаг');
      petr.pressButtonWithText('✅ Даю согласие');
      await petr.waitForText('Добро пожаловать в программу, Пётр!');
    });
    // Nothing handled twice: one greeting, one name question.
    expect(petr.inbox().filter((m) => m.text?.startsWith('Здравствуйте'))).toHaveLength(1);
    expect(petr.inbox().filter((m) => m.text?.startsWith('Спасибо! Как к вам обращаться'))).toHaveLength(1);
    expect(fake.pendingUpdates()).toEqual([]);
  });

  it('publishes the command menu in Russian, English and as the default', async () => {
    await withBot(async () => {
      const ru = fake.commands({ languageCode: 'ru' });
      const en = fake.commands({ languageCode: 'en' });
      expect(ru).toEqual(commandList(i18n, 'ru'));
      expect(en).toEqual(commandList(i18n, 'en'));
      expect(fake.commands()).toEqual(ru);
      expect(ru?.map((c) => c.command)).toEqual(['start', 'menu', 'balance', 'card', 'history', 'invite', 'settings', 'partners', 'help']);
      expect(ru?.find((c) => c.command === 'balance')?.description).toBe('Баланс и сгорание баллов');
      expect(en?.find((c) => c.command === 'balance')?.description).toBe('Balance and expiring points');
    });
  });

  it('waits out a 429 from sendMessage and sends the reply once', async () => {
    await withBot(async () => {
      const olesya = fake.user(2008, { firstName: 'Олеся', languageCode: 'ru' });
      fake.failNext('sendMessage', 1, 1);
      olesya.sendCommand('start');
      await olesya.waitForText('Здравствуйте, Олеся!');
      const tries = fake.calls.filter((c) => c.method === 'sendMessage' && c.params.chat_id === 2008);
      // The fake answers 429 again to a retry that comes before retry_after: one 429 means it was waited out.
      expect(tries.map((c) => c.status)).toEqual([429, 200]);
      expect(olesya.inbox()).toHaveLength(1);
    });
  });

  it('answers a failure it cannot recover from with an apology, and stays silent in groups', async () => {
    const before = errorsLogged().length;
    await withBot(async () => {
      const kim = fake.user(2009, { firstName: 'Ким', languageCode: 'en' });
      fake.failNextWith('sendMessage', 1, { error_code: 400, description: 'Bad Request: chat not found' });
      kim.sendCommand('start');
      await kim.waitForText('Something went wrong. Please try again a little later.');
      expect(errorsLogged().slice(before)).toEqual(['telegram: update failed']);

      fake.pushUpdate({
        message: { message_id: 1, date: 0, chat: { id: -100500, type: 'group', title: 'Chat' }, from: kim.info, text: '/start', entities: [{ type: 'bot_command', offset: 0, length: 6 }] },
      });
      // Kim is mid-join: the flows want the contact button.
      kim.sendCommand('help');
      await kim.waitForText('Please press the “📱 Share my phone number” button');
      expect(fake.sent(-100500)).toEqual([]);
    });
  });
});

describe('Telegram bot end to end (webhook)', () => {
  it('POST /telegram/webhook: a wrong secret is 401 and changes nothing; the right one is handled', async () => {
    const secret = 'webhook_secret_0123456789';
    const before = errorsLogged().length;
    const app = await buildApp({ logger: createLogger('silent'), health: { checks: {} } });
    let running: RunningBot | undefined;
    try {
      // The API process owns the bot in webhook mode; the route is registered like any other.
      const flows = createFlows({ core: t.core, i18n, links: { telegramBot: fake.botUsername } });
      const bot = createTelegramBot({ config: configFor(), flows, logger, i18n });
      await app.register(telegramWebhookRoutes({ bot, secret }));
      await app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${TELEGRAM_WEBHOOK_PATH}`;
      const config = configFor({ kind: 'webhook', url, secret });
      const handle = await startTelegram({ bot, config, logger, i18n });
      running = { bot, handle, stop: () => handle.stop() };
      expect(fake.webhook).toMatchObject({ url, secretToken: secret });

      const mira = fake.user(2101, { firstName: 'Мира', languageCode: 'ru' });
      const update = {
        update_id: 900_001,
        message: { message_id: 1, date: 0, chat: { id: 2101, type: 'private', first_name: 'Мира' }, from: mira.info, text: '/start', entities: [{ type: 'bot_command', offset: 0, length: 6 }] },
      };
      for (const headers of [{ 'x-telegram-bot-api-secret-token': 'wrong_secret_0123456789' }, {}]) {
        const res = await app.inject({ method: 'POST', url: TELEGRAM_WEBHOOK_PATH, headers, payload: update });
        expect(res.statusCode).toBe(401);
        expect(res.json()).toMatchObject({ error: { code: 'unauthorized' } });
      }
      // The secret is checked before the body is read: a refused update never reaches the bot.
      expect(fake.sent(2101)).toEqual([]);
      expect(await t.conn.collection('conversations').findOne({ _id: 'telegram:2101' as never })).toBeNull();

      const ok = await app.inject({ method: 'POST', url: TELEGRAM_WEBHOOK_PATH, headers: { 'x-telegram-bot-api-secret-token': secret }, payload: update });
      expect(ok.statusCode).toBe(200);
      await mira.waitForText('Здравствуйте, Мира!');
      // One greeting: the refused deliveries did nothing, now or later.
      expect(fake.sent(2101)).toHaveLength(1);
      expect((await app.inject({ method: 'POST', url: TELEGRAM_WEBHOOK_PATH, headers: { 'x-telegram-bot-api-secret-token': secret }, payload: { hello: 1 } })).statusCode).toBe(400);

      // And as Telegram does it: the fake POSTs queued updates to the URL with the secret.
      const lev = fake.user(2102, { firstName: 'Лев', languageCode: 'ru' });
      lev.sendCommand('start');
      await lev.waitForText('Здравствуйте, Лев!');
      lev.shareContact(wirePhone(testPhone()));
      await lev.waitForText('Как к вам обращаться?');
      expect(fake.webhook.deliveries.every((d) => d.status === 200)).toBe(true);
      expect(fake.webhook.deliveries.length).toBeGreaterThanOrEqual(2);
    } finally {
      await running?.stop();
      await running?.bot.api.deleteWebhook();
      await app.close();
    }
    expect(errorsLogged().slice(before)).toEqual([]);
  });
});
