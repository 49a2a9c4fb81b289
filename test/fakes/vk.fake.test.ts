import { APIError, PollingTransport, VK } from 'vk-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vkAgent } from '../../bots/vk/vk.bot.js';
import { startFakeVk, type FakeVk } from './vk.fake.js';

/** The fake VK API against the real vk-io client: what the product relies on behaves like VK. */

let fake: FakeVk;
let vk: VK;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a7d1f4b00000000049454e44ae426082', 'hex');

beforeAll(async () => {
  fake = await startFakeVk({ groupId: 4242, screenName: 'coffee' });
  vk = new VK({ token: fake.token, apiBaseUrl: fake.apiBaseUrl, agent: vkAgent(), apiLimit: 50, apiRetryLimit: 0 });
});
afterAll(async () => {
  await fake.close();
});

const apiError = async (p: Promise<unknown>): Promise<{ code: number; message: string }> => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(APIError);
  return { code: Number((err as APIError).code), message: (err as APIError).message };
};

describe('fake VK API', () => {
  it('answers groups.getById and users.get; refuses a wrong token and an unknown method', async () => {
    const r = await vk.api.groups.getById({ group_id: 4242 });
    expect(r.groups[0]).toMatchObject({ id: 4242, screen_name: 'coffee' });
    fake.user(77, { firstName: 'Ира' });
    expect((await vk.api.users.get({ user_ids: [77] }))[0]).toMatchObject({ id: 77, first_name: 'Ира' });
    const stranger = new VK({ token: 'vk1.a.wrong', apiBaseUrl: fake.apiBaseUrl, agent: vkAgent(), apiRetryLimit: 0 });
    expect((await apiError(stranger.api.groups.getById({}))).code).toBe(5);
    expect((await apiError(vk.api.call('messages.nope', {}))).code).toBe(3);
  });

  it('messages.send: random_id required, dedupe by random_id per peer, keyboard and length checked', async () => {
    const u = fake.user(100);
    expect((await apiError(vk.api.messages.send({ peer_id: 100, message: 'hi' }))).message).toMatch(/random_id/);
    const id1 = await vk.api.messages.send({ peer_id: 100, random_id: 5, message: 'hello' });
    const id2 = await vk.api.messages.send({ peer_id: 100, random_id: 5, message: 'hello' });
    expect(id2).toBe(id1);
    // The same random_id to another person is another message.
    await vk.api.messages.send({ peer_id: 101, random_id: 5, message: 'hello' });
    expect(u.inbox().map((m) => m.text)).toEqual(['hello']);
    expect(fake.sent(101)).toHaveLength(1);

    const kb = (o: unknown): string => JSON.stringify(o);
    expect((await apiError(vk.api.messages.send({ peer_id: 100, random_id: 6, message: 'x', keyboard: kb({ inline: true, one_time: true, buttons: [] }) }))).code).toBe(911);
    expect((await apiError(vk.api.messages.send({ peer_id: 100, random_id: 6, message: 'x', keyboard: kb({ buttons: [[{ action: { type: 'text', label: 'x'.repeat(41) } }]] }) }))).code).toBe(911);
    expect((await apiError(vk.api.messages.send({ peer_id: 100, random_id: 6, message: 'x'.repeat(4097) }))).code).toBe(914);
    expect((await apiError(vk.api.messages.send({ peer_id: 100, random_id: 6, message: ' ' }))).code).toBe(100);
    await vk.api.messages.send({ peer_id: 100, random_id: 7, message: 'menu', keyboard: kb({ one_time: false, buttons: [[{ action: { type: 'text', label: 'A', payload: '{"action":"a"}' } }]] }) });
    expect(u.lastKeyboard()).toEqual([['A']]);
    // An empty keyboard hides it.
    await vk.api.messages.send({ peer_id: 100, random_id: 8, message: 'typing', keyboard: kb({ one_time: true, buttons: [] }) });
    expect(u.lastKeyboard()).toBeUndefined();

    fake.user(102, { allowsMessages: false });
    expect((await apiError(vk.api.messages.send({ peer_id: 102, random_id: 1, message: 'hi' }))).code).toBe(901);
  });

  it('uploads a photo for a dialogue and attaches it; refuses what is not an image', async () => {
    const photo = await vk.upload.messagePhoto({ peer_id: 100, source: { value: PNG, filename: 'qr.png' } });
    await vk.api.messages.send({ peer_id: 100, random_id: 9, message: 'card', attachment: photo.toString() });
    const sent = fake.sent(100).at(-1)!;
    expect(sent.attachments).toHaveLength(1);
    expect(sent.attachments[0]!.data.equals(PNG)).toBe(true);
    await expect(vk.upload.messagePhoto({ peer_id: 100, source: { value: Buffer.from('not a picture'), filename: 'x.png' } })).rejects.toThrow();
    expect((await apiError(vk.api.messages.send({ peer_id: 100, random_id: 10, attachment: 'photo-4242_999_nope' }))).code).toBe(100);
  });

  it('fails on demand (flood control) and past the request rate when asked', async () => {
    fake.failNext('messages.send', 1, { error_code: 9, error_msg: 'Flood control' });
    expect((await apiError(vk.api.messages.send({ peer_id: 100, random_id: 11, message: 'x' }))).code).toBe(9);
    await vk.api.messages.send({ peer_id: 100, random_id: 11, message: 'x' });
    expect(fake.sent(100).filter((m) => m.random_id === 11)).toHaveLength(1);

    const limited = await startFakeVk({ rpsLimit: 3 });
    try {
      const burst = new VK({ token: limited.token, apiBaseUrl: limited.apiBaseUrl, agent: vkAgent(), apiLimit: 20 });
      limited.user(1);
      // vk-io waits out error 6 by itself: every message arrives once.
      await Promise.all([1, 2, 3, 4, 5, 6].map((n) => burst.api.messages.send({ peer_id: 1, random_id: n, message: `m${n}` })));
      expect(limited.calls.some((c) => c.error === 6)).toBe(true);
      expect(limited.sent(1).map((m) => m.text).sort()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    } finally {
      await limited.close();
    }
  });

  it('serves Bots Long Poll with vk-io: held polls wake on an update; an old ts returns what came since', async () => {
    const got: { type: string; event_id: string }[] = [];
    const transport = new PollingTransport({ api: vk.api, agent: vkAgent(), pollingGroupId: 4242, pollingWait: 100, pollingRetryLimit: 1 });
    transport.subscribe((u) => {
      got.push(u as unknown as { type: string; event_id: string });
    });
    await transport.start();
    try {
      const u = fake.user(200, { firstName: 'Лев' });
      const first = u.sendText('привет');
      await expect.poll(() => got.map((g) => g.event_id)).toEqual([first.event_id]);
      const second = u.sendText('ещё');
      await expect.poll(() => got.map((g) => g.event_id)).toEqual([first.event_id, second.event_id]);
    } finally {
      await transport.stop();
    }
    const res = await fetch(`${fake.baseUrl}/lp/4242?act=a_check&key=wrong&ts=1&wait=1`);
    expect(await res.json()).toEqual({ failed: 2 });
  });

  it('callback buttons: message_event, answered once', async () => {
    const u = fake.user(300);
    const kb = JSON.stringify({ inline: true, buttons: [[{ action: { type: 'callback', label: 'Да', payload: '{"action":"yes"}' } }]] });
    await vk.api.messages.send({ peer_id: 300, random_id: 1, message: 'ok?', keyboard: kb });
    expect(u.lastInlineButtons()).toEqual([['Да']]);
    const press = u.pressButton('Да');
    expect(press).toMatchObject({ type: 'message_event', object: { user_id: 300, peer_id: 300, payload: { action: 'yes' } } });
    const eventId = press.object.event_id as string;
    expect(fake.unansweredEvents()).toContain(eventId);
    await vk.api.messages.sendMessageEventAnswer({ event_id: eventId, user_id: 300, peer_id: 300 });
    expect(fake.unansweredEvents()).not.toContain(eventId);
    expect((await apiError(vk.api.messages.sendMessageEventAnswer({ event_id: eventId, user_id: 300, peer_id: 300 }))).code).toBe(100);
  });
});
