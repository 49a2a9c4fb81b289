import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sender } from '../../bots/flows/flow.types.js';
import { flowsEnv, sender, textOf, type FlowsEnv } from '../bots/flows.helpers.js';
import { testPhone } from '../helpers/core.js';

/** What expires on its own: the maintenance job's core call, on the core's (fake) clock. */

let env: FlowsEnv;
beforeAll(async () => {
  env = await flowsEnv();
});
afterAll(async () => {
  await env.close();
});

const conversation = (who: Sender) => env.t.conn.collection('conversations').findOne({ _id: `${who.channel}:${who.userId}` as never });

describe('unfinished joins', () => {
  it('are forgotten after a day: the phone and name typed before consent; a join in progress is kept', async () => {
    const left = sender('telegram', 'ru');
    const phone = testPhone();
    await env.flows.handle(left, { kind: 'start' });
    await env.flows.handle(left, { kind: 'contact', phone, own: true });
    await env.flows.handle(left, { kind: 'text', text: 'Незаконченная' });
    expect(await conversation(left)).toMatchObject({ step: 'join.consent', data: { phone, name: 'Незаконченная' } });
    // A typed number in VK, left at the name step.
    const vk = sender('vk', 'ru');
    await env.flows.handle(vk, { kind: 'start' });
    await env.flows.handle(vk, { kind: 'text', text: testPhone() });
    expect(await env.t.conn.collection('phone_proofs').countDocuments({ identity: `vk:${vk.userId}` })).toBe(1);

    env.t.clock.advance(12 * 3600_000);
    const recent = sender('telegram', 'ru');
    await env.flows.handle(recent, { kind: 'start' });
    await env.flows.handle(recent, { kind: 'contact', phone: testPhone(), own: true });
    expect((await env.t.core.privacy.expireStale()).joins).toBe(0);

    env.t.clock.advance(12 * 3600_000 + 1000);
    expect((await env.t.core.privacy.expireStale()).joins).toBe(2);
    expect(await conversation(left)).toBeNull();
    expect(await conversation(vk)).toBeNull();
    expect(await conversation(recent)).toMatchObject({ step: 'join.name' });
    // The next message starts over; nothing of the first attempt is known.
    expect(textOf(await env.flows.handle(left, { kind: 'action', action: 'consent', arg: 'yes' }))).toContain('Здравствуйте');
    expect(await env.t.core.members.findByIdentity(`telegram:${left.userId}`)).toBeNull();
    // The proof that typed number asked for, and the rate counters of past hours, went too.
    expect(await env.t.conn.collection('phone_proofs').countDocuments({ identity: `vk:${vk.userId}` })).toBe(0);
    expect(await env.t.conn.collection('rate_counters').countDocuments({ expiresAt: { $lt: env.t.clock.now() } })).toBe(0);
  });
});
