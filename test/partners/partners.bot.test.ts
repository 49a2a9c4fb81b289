import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlows } from '../../bots/flows/flows.service.js';
import { createTelegramApi, createTelegramBot, type EnabledTelegramConfig } from '../../bots/telegram/telegram.bot.js';
import { commandList } from '../../bots/telegram/telegram.commands.js';
import { startTelegram } from '../../bots/telegram/telegram.runner.js';
import { createI18n, type I18n } from '../../core/i18n/i18n.js';
import { createLogger } from '../../infra/logger.js';
import { startFakeTelegram, type FakeTelegram, type FakeUser } from '../fakes/telegram.fake.js';
import { testCore, testPhone, type TestCore } from '../helpers/core.js';

/**
 * "Где действует карта" through the real grammY bot and the fake Bot API: the menu button and
 * the /partners command list the partners with their terms at the member's own level.
 */
let fake: FakeTelegram;
let t: TestCore;
let i18n: I18n;

beforeAll(async () => {
  fake = await startFakeTelegram({ botUsername: 'shop_loyalty_bot' });
  t = await testCore();
  i18n = await createI18n();
});
afterAll(async () => {
  await fake.close();
  await t.close();
});

async function withBot(fn: () => Promise<void>): Promise<void> {
  const config: EnabledTelegramConfig = { enabled: true, token: fake.token, apiRoot: fake.apiRoot, mode: { kind: 'polling' } };
  const me = await createTelegramApi(config).getMe();
  const flows = createFlows({ core: t.core, i18n, links: { telegramBot: me.username } });
  const logger = createLogger('silent');
  const bot = createTelegramBot({ config, flows, logger, i18n, botInfo: me });
  const handle = await startTelegram({ bot, config, logger, i18n });
  try {
    await fn();
  } finally {
    await handle.stop();
  }
}

async function join(user: FakeUser, agree: string, welcome: string): Promise<void> {
  user.sendCommand('start');
  await user.waitForText(/./);
  user.shareContact(testPhone().slice(1));
  await user.waitForText(/\?/);
  user.sendText('Вера');
  await user.waitForText(/./);
  user.pressButtonWithText(agree);
  await user.waitForText(welcome);
}

describe('bot: where the card works', () => {
  it('says the card works everywhere on the programme terms while there are no partners', async () => {
    await withBot(async () => {
      const u = fake.user(7001, { firstName: 'Вера', languageCode: 'ru' });
      await join(u, '✅ Даю согласие', 'Добро пожаловать в программу');
      expect(u.lastKeyboard()?.at(-1)).toEqual(['🏬 Где действует карта']);
      u.sendText('🏬 Где действует карта');
      const m = await u.waitForText('Где действует карта');
      expect(m.text).toContain('на условиях программы');
    });
  });

  it('lists partners with their terms at the member level, by button (ru) and by /partners (en)', async () => {
    await t.core.partners.create({ name: 'Обувь <Люкс>', percentBp: 1000, redeemCapBp: 5000 });
    await t.core.partners.create({ name: 'Кафе', percentBp: 0, levelPercentBp: { silver: 250 }, redeemCapBp: 0 });
    await t.core.partners.create({ name: 'Книги', levelPercentBp: { base: 700 } });
    await withBot(async () => {
      const ru = fake.user(7002, { firstName: 'Вера', languageCode: 'ru' });
      await join(ru, '✅ Даю согласие', 'Добро пожаловать в программу');
      ru.sendText('🏬 Где действует карта');
      const m = await ru.waitForText('Где действует карта');
      // Base level: "Кафе" gives 2.5% only from Silver, so nothing here; "Книги" 7% at base.
      expect(m.text).toContain('• Книги: 7% возвращается баллами; баллами можно оплатить до 100% чека');
      expect(m.text).toContain('• Кафе: баллы не начисляются; оплата баллами недоступна');
      expect(m.text).toContain('• Обувь <Люкс>: 10% возвращается баллами; баллами можно оплатить до 50% чека');
      expect(m.raw).toContain('Обувь &lt;Люкс&gt;');

      const en = fake.user(7003, { firstName: 'Vera', languageCode: 'en' });
      await join(en, '✅ I agree', 'Welcome to the programme');
      en.sendCommand('partners');
      const e = await en.waitForText('Where the card works');
      expect(e.text).toContain('• Кафе: no points are earned; points cannot pay here');
      expect(e.text).toContain('• Книги: 7% comes back as points; points pay up to 100% of a receipt');
    });
  });

  it('has a /partners entry in the command menu, in both languages', () => {
    expect(commandList(i18n, 'ru').find((c) => c.command === 'partners')?.description).toBe('Где действует карта и на каких условиях');
    expect(commandList(i18n, 'en').find((c) => c.command === 'partners')?.description).toBe('Where the card works, and on what terms');
  });
});
