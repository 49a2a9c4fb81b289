import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../core/events/event.types.js';
import { PHONE_PROOF_LIMITS } from '../../core/members/phone-proof.service.js';
import { domainEventSchema } from '../../core/events/event.schema.js';
import { testPhone } from '../helpers/core.js';
import { flowsEnv, join, sender, textOf, type FlowsEnv } from './flows.helpers.js';

/** The phone ownership proof of typed-number channels, at the level of the core service and the flows. */

let env: FlowsEnv;
beforeAll(async () => {
  env = await flowsEnv();
});
afterAll(async () => {
  await env.close();
});

async function telegramMember(lang = 'ru') {
  const who = sender('telegram', lang);
  const phone = testPhone();
  await join(env.flows, who, phone, 'Ольга');
  return { who, phone, member: (await env.t.core.members.findByIdentity(`telegram:${who.userId}`))! };
}

/** Every unpublished outbox event of this type. */
async function outboxEvents(type: DomainEvent['type']): Promise<DomainEvent[]> {
  const out: DomainEvent[] = [];
  await env.t.core.outbox.relayOnce(async (evs) => {
    out.push(...evs);
  });
  return out.filter((e) => e.type === type);
}

const codeOf = (e: DomainEvent | undefined): string => (e as Extract<DomainEvent, { type: 'phone.verification' }>).data.code;
const target = (member: { _id: unknown; cardNumber: string | null }) => ({ memberId: String(member._id), phoneHash: 'h', cardNumber: member.cardNumber });

describe('phone proof', () => {
  it("a VK account typing a Telegram member's phone: a phone.verification event, rendered for the member's Telegram chat in their language", async () => {
    const { who, phone, member } = await telegramMember('en');
    const vk = sender('vk', 'ru');
    await env.flows.handle(vk, { kind: 'start' });
    const asked = await env.flows.handle(vk, { kind: 'text', text: phone });
    expect(textOf(asked)).toContain('Если этот номер уже участвует в программе');
    expect(await env.t.core.members.findByIdentity(`vk:${vk.userId}`)).toBeNull();

    const [event] = await outboxEvents('phone.verification');
    expect(event).toMatchObject({ type: 'phone.verification', memberId: String(member._id), card: member.cardNumber, data: { channel: 'vk', account: vk.userId } });
    // The worker's schema takes it (the queue is a boundary).
    expect(domainEventSchema.safeParse(event).success).toBe(true);
    const code = codeOf(event);

    // Codes go out even to a member who turned points notices off.
    await env.t.core.members.update(String(member._id), { notifications: false });
    const notes = await env.flows.notification(event!);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ channel: 'telegram', userId: who.userId });
    expect(notes[0]!.replies[0]!.text).toContain(`Confirmation code: <b>${code}</b> (valid for 10 minutes)`);
    expect(notes[0]!.replies[0]!.text).toContain(`https://vk.com/id${vk.userId}`);

    const done = await env.flows.handle(vk, { kind: 'text', text: code });
    expect(textOf(done)).toContain('Welcome back, Ольга!');
    expect(String((await env.t.core.members.findByIdentity(`vk:${vk.userId}`))?._id)).toBe(String(member._id));
  });

  it('counts guesses atomically: ten concurrent wrong guesses spend the five attempts, no more', async () => {
    const { member } = await telegramMember();
    const identity = `vk:${sender('vk').userId}`;
    const sent = await env.t.core.phoneProofs.request({ identity, channel: 'vk', account: identity.slice(3), target: target(member) });
    expect(sent.status).toBe('sent');
    const [event] = await outboxEvents('phone.verification');
    const code = codeOf(event);
    const wrong = code === '999999' ? '888888' : '999999';
    const results = await Promise.all(Array.from({ length: 10 }, () => env.t.core.phoneProofs.verify(identity, wrong)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 'wrong')).toHaveLength(PHONE_PROOF_LIMITS.maxAttempts - 1);
    expect(statuses.filter((s) => s === 'locked')).toHaveLength(10 - (PHONE_PROOF_LIMITS.maxAttempts - 1));
    // The right code no longer counts either.
    expect((await env.t.core.phoneProofs.verify(identity, code)).status).toBe('none');
    const stored = await env.t.conn.collection('phone_proofs').findOne({ identity });
    expect(stored).toMatchObject({ status: 'locked', attempts: PHONE_PROOF_LIMITS.maxAttempts });
    expect(stored?.codeHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('bounds the codes: five numbers per account an hour, five codes per member an hour whoever asks (then told to nobody)', async () => {
    const { member } = await telegramMember();
    await outboxEvents('phone.verification');
    const ask = (identity: string) => env.t.core.phoneProofs.request({ identity, channel: 'vk', account: identity.slice(3), target: target(member) });
    // One account: five numbers an hour, then refused before anything is looked at.
    for (let n = 0; n < PHONE_PROOF_LIMITS.perAccount.max; n++) expect((await ask('vk:4242')).status).toBe('sent');
    expect((await ask('vk:4242')).status).toBe('too_many');
    // The member was told five codes this hour: a sixth asker is answered the same, and nobody is told.
    expect((await outboxEvents('phone.verification')).length).toBe(PHONE_PROOF_LIMITS.perMember.max);
    expect((await ask('vk:4243')).status).toBe('sent');
    expect(await outboxEvents('phone.verification')).toEqual([]);
    expect(await env.t.conn.collection('phone_proofs').findOne({ identity: 'vk:4243' })).toMatchObject({ memberId: null, status: 'pending' });
    env.t.clock.advance(PHONE_PROOF_LIMITS.perAccount.windowMs);
    expect((await ask('vk:4242')).status).toBe('sent');
    expect(await outboxEvents('phone.verification')).toHaveLength(1);
  });

  it('bounds the numbers typed by all accounts together in an hour', async () => {
    env.t.clock.advance(PHONE_PROOF_LIMITS.overall.windowMs);
    const used = await env.t.core.rates.peek('proof-all', 'all', PHONE_PROOF_LIMITS.overall);
    let n = used;
    for (; n < PHONE_PROOF_LIMITS.overall.max; n++) {
      expect((await env.t.core.phoneProofs.request({ identity: `vk:7${n}`, channel: 'vk', account: `7${n}`, target: null })).status).toBe('sent');
    }
    // A fresh account is refused too, whatever it types.
    const r = await env.t.core.phoneProofs.request({ identity: 'vk:fresh', channel: 'vk', account: 'fresh', target: null });
    expect(r.status).toBe('too_many');
    const vk = sender('vk', 'ru');
    await env.flows.handle(vk, { kind: 'start' });
    expect(textOf(await env.flows.handle(vk, { kind: 'text', text: testPhone() }))).toContain('Слишком много номеров');
    env.t.clock.advance(PHONE_PROOF_LIMITS.overall.windowMs);
  });

  it('the terminal chat types numbers too: a member\'s number is linked only with the code told in their chat', async () => {
    const { phone, member } = await telegramMember();
    await outboxEvents('phone.verification');
    const local = sender('console', 'ru');
    await env.flows.handle(local, { kind: 'start' });
    const r = await env.flows.handle(local, { kind: 'text', text: phone });
    expect(textOf(r)).toContain('Если этот номер уже участвует в программе');
    expect(await env.t.core.members.findByIdentity(`console:${local.userId}`)).toBeNull();
    const [event] = await outboxEvents('phone.verification');
    const done = await env.flows.handle(local, { kind: 'text', text: codeOf(event) });
    expect(textOf(done)).toContain('С возвращением, Ольга!');
    expect(String((await env.t.core.members.findByIdentity(`console:${local.userId}`))?._id)).toBe(String(member._id));
  });
});
