import { addDays, nextDay, shopDay, startOfShopDay } from '../insight/shop-time.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import type { BroadcastService } from './broadcast.service.js';
import type { RecipientRepository } from './recipient.repository.js';

const PAGE = 1000;
/** Days back the "we miss you" pass looks, so a worker down for a day or two misses nobody. */
const CATCH_UP_DAYS = 2;

/**
 * The automations, on the broadcast engine (so consent, quiet hours and the cap apply):
 * - points expiring within 14 days: one broadcast per expiry date, to the members whose points
 *   expire that day (once per expiry date);
 * - "we miss you": members whose last purchase was 60 days ago, one broadcast per such day
 *   (once per 60 days without a purchase).
 * Texts come from locales/ (bot:automations.*). Run hourly by the worker's scheduler.
 */
export function createAutomations(deps: { broadcasts: BroadcastService; recipients: RecipientRepository; settings: () => Promise<ProgrammeSettings>; clock: Clock; timeZone: string }) {
  const { broadcasts, recipients, timeZone } = deps;

  async function texts(key: string, vars: (lang: 'ru' | 'en') => Record<string, unknown>): Promise<{ ru: string; en: string }> {
    const i18n = await broadcasts.words();
    const say = (lang: 'ru' | 'en'): string => i18n.t(lang, key, vars(lang));
    return { ru: say('ru'), en: say('en') };
  }

  const human = (day: string, lang: 'ru' | 'en'): string =>
    new Intl.DateTimeFormat(lang === 'ru' ? 'ru-RU' : 'en-GB', { day: 'numeric', month: 'long', timeZone: 'UTC' }).format(new Date(`${day}T00:00:00Z`));

  async function expiring(withinDays: number, today: string): Promise<string[]> {
    const started: string[] = [];
    for (let i = 0; i < withinDays; i++) {
      const day = addDays(today, i);
      const from = startOfShopDay(day, timeZone);
      const to = startOfShopDay(nextDay(day), timeZone);
      const members = new Set<string>();
      let after: string | null = null;
      for (;;) {
        const page = await recipients.expiringBetween(from, to, after, PAGE);
        for (const c of page) members.add(c.memberId);
        if (page.length < PAGE) break;
        after = page[page.length - 1]?.card ?? null;
        if (after === null) break;
      }
      if (members.size === 0) continue;
      const words = await texts('bot:automations.expiring', (lang) => ({ date: human(day, lang) }));
      const id = await broadcasts.startAutomation(`expiring:${day}`, words, { kind: 'members', memberIds: [...members].sort() });
      if (id) started.push(id);
    }
    return started;
  }

  async function missYou(afterDays: number, today: string): Promise<string[]> {
    const started: string[] = [];
    for (let back = CATCH_UP_DAYS; back >= 0; back--) {
      const day = addDays(today, -afterDays - back);
      const from = startOfShopDay(day, timeZone);
      const to = startOfShopDay(nextDay(day), timeZone);
      const members: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await recipients.lastPurchaseBetween(from, to, after, PAGE);
        members.push(...page);
        if (page.length < PAGE) break;
        after = page[page.length - 1] ?? null;
      }
      if (members.length === 0) continue;
      const id = await broadcasts.startAutomation(`missyou:${day}`, await texts('bot:automations.miss_you', () => ({})), { kind: 'members', memberIds: members });
      if (id) started.push(id);
    }
    return started;
  }

  return {
    /** One pass of every automation that is on; returns the broadcasts it started. */
    async run(): Promise<string[]> {
      const { automations } = (await deps.settings()).marketing;
      const today = shopDay(deps.clock.now(), timeZone);
      return [
        ...(automations.expiringPoints.enabled ? await expiring(automations.expiringPoints.withinDays, today) : []),
        ...(automations.weMissYou.enabled ? await missYou(automations.weMissYou.afterDays, today) : []),
      ];
    },
  };
}
