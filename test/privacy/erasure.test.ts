import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlows, type FlowsService } from '../../bots/flows/flows.service.js';
import type { Sender } from '../../bots/flows/flow.types.js';
import { DOMAIN_EVENTS_QUEUE, jobIdFor, type DomainEvent } from '../../core/events/event.types.js';
import { createI18n } from '../../core/i18n/i18n.js';
import { startWalletFixture, type WalletFixture } from '../wallet/wallet.fixture.js';
import { readZip } from '../wallet/zip.js';

/**
 * "Delete my data" deletes: a member who joined in two chats (Telegram by contact, VK by the
 * code told in Telegram), linked Twitch, added the pass to a device, entered two contests and
 * won one, erases from VK; then every collection of the database is searched for the phone,
 * the name and the account ids. The chats speak through the flows every bot adapter calls,
 * the device through the PassKit web service over HTTP, pushes through the fake APNs.
 */

const PHONE = '+79161234599';
const NAME = 'Евлампия Тестовая';
const TG: Sender = { channel: 'telegram', userId: '987650001', languageCode: 'ru' };
const VK: Sender = { channel: 'vk', userId: '987650002', languageCode: 'ru' };
const TWITCH = 'twitch:987650003';

let f: WalletFixture;
let flows: FlowsService;
beforeAll(async () => {
  f = await startWalletFixture({ debounceMs: 50 });
  flows = createFlows({ core: f.core, i18n: await createI18n(), links: {} });
});
afterAll(async () => {
  await f.close();
});

const say = (who: Sender, text: string) => flows.handle(who, { kind: 'text', text });
const press = (who: Sender, action: string, arg?: string) => flows.handle(who, { kind: 'action', action, arg });
const text = (replies: { text: string }[]): string => replies.map((r) => r.text).join('\n');

/** A domain event the relay handed to the queue, by id (BullMQ keeps completed jobs). */
async function queued(eventId: string): Promise<DomainEvent> {
  const queue = f.queues.queue<DomainEvent>(DOMAIN_EVENTS_QUEUE);
  for (let i = 0; i < 100; i++) {
    const job = await queue.getJob(jobIdFor(eventId));
    if (job) return job.data;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`event ${eventId} never reached the queue`);
}

/** Every document of every collection, as text. */
async function everything(): Promise<Map<string, string>> {
  const db = f.conn.db!;
  const out = new Map<string, string>();
  for (const { name } of await db.listCollections().toArray()) {
    const docs = await db.collection(name).find({}).toArray();
    out.set(name, JSON.stringify(docs));
  }
  return out;
}

describe('delete my data', () => {
  it('leaves neither the phone, the name nor any account id anywhere; the pass on the device says the card is closed', async () => {
    // Telegram: the contact button, a name, consent.
    await flows.handle(TG, { kind: 'start' });
    await flows.handle(TG, { kind: 'contact', phone: PHONE, own: true });
    await say(TG, NAME);
    expect(text(await press(TG, 'consent', 'yes'))).toContain(`Добро пожаловать в программу, ${NAME}`);
    const member = (await f.core.members.findByIdentity(`telegram:${TG.userId}`))!;
    const card = member.cardNumber!;

    // VK: the typed number, and the code told in Telegram.
    await flows.handle(VK, { kind: 'start' });
    await say(VK, '8 916 123-45-99');
    const proof = await f.conn.collection('phone_proofs').findOne({ identity: `vk:${VK.userId}` });
    const codeEvent = (await queued(`phone-proof:${String(proof!._id)}`)) as Extract<DomainEvent, { type: 'phone.verification' }>;
    expect(text(await say(VK, codeEvent.data.code))).toContain(`С возвращением, ${NAME}`);
    // Twitch, linked by the code /twitch gave in the chat.
    const twitchCode = /<code>(TW-[A-Z0-9-]+)<\/code>/.exec(text(await say(TG, '/twitch')))![1]!;

    // The pass on a device.
    const doc = await f.wallet.passes.ensure(card);
    const token = (JSON.parse(readZip(await f.wallet.passes.file(doc))['pass.json']!.toString()) as { authenticationToken: string }).authenticationToken;
    const device = `dev${randomBytes(8).toString('hex')}`;
    const pushToken = randomBytes(32).toString('hex');
    expect(await f.register(device, card, token, pushToken)).toBe(201);
    expect(JSON.stringify(await f.conn.collection('wallet_passes').findOne({ _id: card as never }))).toContain(NAME);

    // Two contests: entered from Telegram and won; entered from Twitch.
    const won = await f.core.contests.create({ title: 'Приз', prizes: 1, channels: ['telegram'], closesAt: new Date(Date.now() + 3600_000) });
    await f.core.contests.enter({ contestId: won.id, channel: 'telegram', account: `telegram:${TG.userId}`, cardInput: card });
    await f.core.contests.close(won.id, 'Тест');
    const draw = await f.core.contests.draw(won.id);
    expect(draw.winners[0]).toMatchObject({ memberId: String(member._id), account: `telegram:${TG.userId}` });
    const stream = await f.core.contests.create({ title: 'Стрим', prizes: 1, channels: ['twitch'], closesAt: new Date(Date.now() + 3600_000) });
    await f.core.contests.enter({ contestId: stream.id, channel: 'twitch', account: TWITCH, cardInput: twitchCode });
    expect(String((await f.core.members.findByIdentity(TWITCH))?._id)).toBe(String(member._id));
    // A wrong number from the Twitch account: a throttle counter keyed by the account.
    await f.core.contests.enter({ contestId: stream.id, channel: 'twitch', account: TWITCH, cardInput: '123' }).catch(() => undefined);
    // And a half-typed phone in a third chat of theirs (the terminal), left there.
    await flows.handle({ channel: 'console', userId: '987650004' }, { kind: 'start' });
    await f.core.members.linkIdentity(String(member._id), 'console:987650004');
    await f.settle();
    const pushesBefore = f.apns.pushes.filter((p) => p.token === pushToken).length;

    // "Delete my data", from VK.
    await press(VK, 'erase');
    expect(text(await press(VK, 'erase_confirm', 'yes'))).toContain('Ваши данные удалены');

    // The device is pushed, lists the change, and fetches a pass that says the card is closed.
    await f.apns.waitForPushes(pushesBefore + 1, (p) => p.token === pushToken && p.status === 200);
    const passType = f.certs.signer.passTypeId;
    const listed = await f.call('GET', `/passkit/v1/devices/${device}/registrations/${passType}`);
    expect(listed.json().serialNumbers).toEqual([card]);
    const pass = await f.call('GET', `/passkit/v1/passes/${passType}/${card}`, { headers: { authorization: `ApplePass ${token}` } });
    expect(pass.statusCode).toBe(200);
    const passJson = JSON.parse(readZip(pass.rawPayload)['pass.json']!.toString()) as Record<string, unknown>;
    expect(passJson.voided).toBe(true);
    expect(passJson.barcodes).toBeUndefined();
    expect(JSON.stringify(passJson)).not.toContain(NAME);
    expect(readZip(pass.rawPayload)['ru.lproj/pass.strings']!.toString()).toContain('Карта закрыта');
    // The device's registration went once it had the change.
    expect(await f.conn.collection('wallet_registrations').countDocuments({ device })).toBe(0);
    expect((await f.call('GET', `/passkit/v1/devices/${device}/registrations/${passType}`)).statusCode).toBe(204);

    // Nothing of them is left anywhere.
    const needles = [PHONE, PHONE.slice(1), PHONE.slice(2), 'Евлампия', 'Тестовая', TG.userId, VK.userId, TWITCH.slice(7), '987650004'];
    for (const [collection, content] of await everything()) {
      for (const needle of needles) expect(content.includes(needle), `${collection} still holds ${needle}`).toBe(false);
    }
    // What accounting needs stays: the card, blocked, and its ledger on no name.
    expect(await f.core.cards.byNumber(card)).toMatchObject({ status: 'blocked', balance: 1000 });
    expect(await f.conn.collection('ledger_entries').countDocuments({ card })).toBe(1);
    // The published contest list still verifies: ids and masked numbers stay.
    expect((await f.core.contests.publicRecord(won.id)).winners).toHaveLength(1);
    expect((await f.core.contests.publicEntries(won.id)).entries).toHaveLength(1);
    // And the same phone joining again starts from nothing: no second welcome bonus.
    const again: Sender = { channel: 'telegram', userId: '55501', languageCode: 'ru' };
    await flows.handle(again, { kind: 'start' });
    await flows.handle(again, { kind: 'contact', phone: PHONE, own: true });
    await say(again, 'Снова');
    expect(text(await press(again, 'consent', 'yes'))).not.toContain('Приветственный бонус: <b>+');
  });
});
