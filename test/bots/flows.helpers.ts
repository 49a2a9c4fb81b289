import { createFlows, type FlowsService } from '../../bots/flows/flows.service.js';
import type { ChatChannel, Keyboard, Reply, Sender } from '../../bots/flows/flow.types.js';
import { createI18n, type I18n } from '../../core/i18n/i18n.js';
import { testCore, type TestCore } from '../helpers/core.js';

export const POLICY_URL = 'https://shop.example/privacy';
export const LINKS = { telegramBot: 'shop_bot', vkCommunity: 'shop' };

export interface FlowsEnv {
  t: TestCore;
  i18n: I18n;
  flows: FlowsService;
  /** A new flows instance on the same database: what a restarted process gets. */
  restart(): Promise<FlowsService>;
  close(): Promise<void>;
}

export async function flowsEnv(): Promise<FlowsEnv> {
  const t = await testCore();
  const i18n = await createI18n();
  const make = async (): Promise<FlowsService> => {
    const f = createFlows({ core: t.core, i18n, links: LINKS, policyUrl: POLICY_URL });
    return f;
  };
  return { t, i18n, flows: await make(), restart: make, close: () => t.close() };
}

let userSeq = 1000;
export function sender(channel: ChatChannel = 'telegram', languageCode = 'ru', firstName?: string): Sender {
  userSeq += 1;
  return { channel, userId: String(userSeq), languageCode, ...(firstName ? { firstName } : {}) };
}

/** All reply texts of one answer, joined. */
export const textOf = (replies: Reply[]): string => replies.map((r) => r.text).join('\n');

/** The keyboard of the last reply that has one. */
export function keyboardOf(replies: Reply[]): Keyboard | undefined {
  return replies.findLast((r) => r.keyboard)?.keyboard;
}

export function inlineButtons(replies: Reply[]): { label: string; action: string; arg?: string | undefined; url?: string | undefined }[] {
  const kb = keyboardOf(replies);
  return kb?.kind === 'inline' ? kb.rows.flat() : [];
}

/** Ru plural-aware number as Intl writes it in Russian: '1 057' with a no-break space. */
export const ruNumber = (n: number): string => new Intl.NumberFormat('ru-RU').format(n);

/** Runs a whole join: start → phone → name → consent yes. Returns the last answer. */
export async function join(flows: FlowsService, who: Sender, phone: string, name = 'Анна', payload?: string): Promise<Reply[]> {
  await flows.handle(who, { kind: 'start', payload });
  await flows.handle(who, who.channel === 'telegram' ? { kind: 'contact', phone, own: true } : { kind: 'text', text: phone });
  await flows.handle(who, { kind: 'text', text: name });
  return flows.handle(who, { kind: 'action', action: 'consent', arg: 'yes' });
}
