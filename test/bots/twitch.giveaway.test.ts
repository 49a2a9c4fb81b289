import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTwitchClient, helixPort, type TwitchClient } from '../../bots/twitch/twitch.client.js';
import { startTwitchHelix } from '../../bots/twitch/twitch.runner.js';
import type { TwitchLog } from '../../core/twitch/helix.port.js';
import type { TwitchGiveaway } from '../../core/twitch/twitch-giveaway.service.js';
import { twitchModels } from '../../core/twitch/twitch-state.model.js';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../infra/logger.js';
import { startTwitchPoll } from '../../workers/twitch/twitch-poll.job.js';
import { generateCardNumber } from '../../core/cards/card-number.js';
import { contestModels } from '../../core/contests/contest.model.js';
import { createI18n, type I18n } from '../../core/i18n/i18n.js';
import type { TwitchTokenRepository } from '../../core/twitch/twitch-token.repository.js';
import { startFakeHelix, type FakeHelix } from '../fakes/helix.fake.js';
import { createFlows } from '../../bots/flows/flows.service.js';
import { newMember, testCore, testPhone, type TestCore } from '../helpers/core.js';
import { testQueues } from '../helpers/env.js';

interface Line {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

const BROADCASTER = { id: '141981764', login: 'shopstream' };

let fake: FakeHelix;
let t: TestCore;
let i18n: I18n;
let tokens: TwitchTokenRepository;
let lines: Line[];
let savedMockPort: string | undefined;
const log: TwitchLog = {
  info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
  warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
  error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
};

async function client(): Promise<TwitchClient> {
  const c = await createTwitchClient({ clientId: fake.clientId, clientSecret: fake.clientSecret, channel: BROADCASTER.login, tokens, log });
  if (!c) throw new Error('no twitch account stored');
  return c;
}

async function giveaway(): Promise<TwitchGiveaway> {
  return t.core.twitch.giveaway({ helix: helixPort(await client()), i18n, log, options: { cost: 10 } });
}

async function contest(title = 'Сертификат на 3 000 ₽ в магазине у дома'): Promise<string> {
  const { id } = await t.core.contests.create({ title, prizes: 1, channels: ['telegram', 'twitch'], closesAt: new Date(t.clock.now().getTime() + 24 * 3600_000) });
  return id;
}

/** The reward of the contest, created by a first poll. */
async function rewardOf(g: TwitchGiveaway, contestId: string): Promise<string> {
  await g.pollOnce();
  const doc = await twitchModels(t.conn).Rewards.findById(contestId).lean();
  if (!doc) throw new Error('no reward recorded');
  return doc.rewardId;
}

let viewer = 5000;
const nextViewer = (): string => String(++viewer);

/** A member whose Twitch account is linked (as after a code from /twitch): enters with the card number. */
async function viewerWithCard(): Promise<{ userId: string; card: string }> {
  const { member, card } = await newMember(t.core);
  const userId = nextViewer();
  await t.core.members.linkIdentity(String(member._id), `twitch:${userId}`);
  return { userId, card: card._id };
}

beforeAll(async () => {
  fake = await startFakeHelix();
  // twurple's own mock switch: Helix → http://localhost:<port>/mock/…, OAuth → …/auth/….
  savedMockPort = process.env.TWURPLE_MOCK_API_PORT;
  process.env.TWURPLE_MOCK_API_PORT = String(fake.port);
  fake.addUser({ ...BROADCASTER, broadcasterType: 'affiliate' });
  t = await testCore();
  i18n = await createI18n();
  tokens = t.core.twitch.tokens;
});

afterAll(async () => {
  if (savedMockPort === undefined) delete process.env.TWURPLE_MOCK_API_PORT;
  else process.env.TWURPLE_MOCK_API_PORT = savedMockPort;
  await t.close();
  await fake.close();
});

beforeEach(async () => {
  lines = [];
  const tok = fake.issueToken(BROADCASTER.id);
  await tokens.save(BROADCASTER.id, { accessToken: tok.accessToken, refreshToken: tok.refreshToken, scope: tok.scopes, expiresIn: tok.expiresIn, obtainmentTimestamp: Date.now() }, BROADCASTER.login);
});

afterEach(() => {
  fake.failNext('PATCH redemptions', 0);
});

describe('twitch giveaway', () => {
  it('creates the contest reward once: title from the contest, card number asked in Russian', async () => {
    const g = await giveaway();
    const id = await contest('Розыгрыш пылесоса среди владельцев карт нашей сети магазинов');
    const rewardId = await rewardOf(g, id);
    await g.pollOnce();
    await (await giveaway()).pollOnce();
    const rewards = fake.rewards(BROADCASTER.id).filter((r) => r.id === rewardId);
    expect(rewards).toHaveLength(1);
    const r = rewards[0];
    expect(r?.userInputRequired).toBe(true);
    expect(r?.cost).toBe(10);
    expect(r?.title.length).toBeLessThanOrEqual(45);
    expect(r?.title).toMatch(/^Розыгрыш: Розыгрыш пылесоса/);
    expect(r?.prompt).toContain('Номер вашей карты лояльности');
    expect(r?.prompt).toContain('/twitch');
    expect(fake.calls.filter((c) => c.method === 'POST' && c.route === 'rewards' && c.status === 200)).toHaveLength(fake.rewards().length);
  });

  it('a valid card number becomes an entry and the redemption FULFILLED', async () => {
    const g = await giveaway();
    const id = await contest('Valid number');
    const rewardId = await rewardOf(g, id);
    const { userId, card } = await viewerWithCard();
    const red = fake.redeem(rewardId, { userId, userInput: ` ${card} ` });
    await g.pollOnce();
    expect(fake.redemptions(rewardId).find((d) => d.id === red.id)?.status).toBe('FULFILLED');
    const entries = await contestModels(t.conn).Entries.find({ contestId: id }).lean();
    expect(entries).toHaveLength(1);
    expect(entries[0]?.account).toBe(`twitch:${userId}`);
    expect(entries[0]?.channel).toBe('twitch');
    expect(lines.some((l) => l.msg === 'twitch redemption entered' && l.obj.redemptionId === red.id)).toBe(true);
  });

  it('a number with a wrong check digit is CANCELED (points back) with reason invalid_card_number', async () => {
    const g = await giveaway();
    const id = await contest('Bad number');
    const rewardId = await rewardOf(g, id);
    const { userId, card } = await viewerWithCard();
    const last = Number(card.slice(-1));
    const wrong = `${card.slice(0, -1)}${(last + 1) % 10}`;
    const red = fake.redeem(rewardId, { userId, userInput: wrong });
    await g.pollOnce();
    expect(fake.redemptions(rewardId).find((d) => d.id === red.id)?.status).toBe('CANCELED');
    const line = lines.find((l) => l.obj.redemptionId === red.id);
    expect(line?.msg).toBe('twitch redemption refused, points returned');
    expect(line?.obj.reason).toBe('invalid_card_number');
    expect(JSON.stringify(lines)).not.toContain(wrong);
    expect(await contestModels(t.conn).Entries.countDocuments({ contestId: id })).toBe(0);
  });

  it("an account linked to nobody, or someone else's card, is CANCELED (contest_not_eligible); a second redemption of an entered viewer too", async () => {
    const g = await giveaway();
    const id = await contest('Unknown card');
    const rewardId = await rewardOf(g, id);
    const { userId, card } = await viewerWithCard();
    const nobody = fake.redeem(rewardId, { userId: nextViewer(), userInput: card });
    const thief = await viewerWithCard();
    const stolen = fake.redeem(rewardId, { userId: thief.userId, userInput: card });
    const unknown = fake.redeem(rewardId, { userId: thief.userId, userInput: generateCardNumber('70') });
    const first = fake.redeem(rewardId, { userId, userInput: card });
    const again = fake.redeem(rewardId, { userId, userInput: card });
    await g.pollOnce();
    const status = (rid: string) => fake.redemptions(rewardId).find((d) => d.id === rid)?.status;
    for (const refused of [nobody, stolen, unknown]) {
      expect(status(refused.id)).toBe('CANCELED');
      expect(lines.find((l) => l.obj.redemptionId === refused.id)?.obj.reason).toBe('contest_not_eligible');
    }
    expect(status(first.id)).toBe('FULFILLED');
    expect(status(again.id)).toBe('CANCELED');
    expect(lines.find((l) => l.obj.redemptionId === again.id)?.obj.reason).toBe('contest_already_entered');
  });

  it('a viewer links their Twitch account with the code /twitch gave them in the bot, then enters with the card number', async () => {
    const g = await giveaway();
    const rewardId = await rewardOf(g, await contest('Linked by code'));
    const flows = createFlows({ core: t.core, i18n, links: {} });
    const chat = { channel: 'telegram' as const, userId: nextViewer(), languageCode: 'ru' };
    await flows.handle(chat, { kind: 'start' });
    await flows.handle(chat, { kind: 'contact', phone: testPhone(), own: true });
    await flows.handle(chat, { kind: 'text', text: 'Зритель' });
    await flows.handle(chat, { kind: 'action', action: 'consent', arg: 'yes' });
    const codeReply = (await flows.handle(chat, { kind: 'text', text: '/twitch' })).map((r) => r.text).join('\n');
    const code = /<code>(TW-[A-Z2-9]{4}-[A-Z2-9]{4})<\/code>/.exec(codeReply)?.[1];
    expect(code).toBeDefined();
    const member = (await t.core.members.findByIdentity(`telegram:${chat.userId}`))!;

    const twitchUser = nextViewer();
    const byCode = fake.redeem(rewardId, { userId: twitchUser, userInput: code! });
    await g.pollOnce();
    expect(fake.redemptions(rewardId).find((d) => d.id === byCode.id)?.status).toBe('FULFILLED');
    expect(String((await t.core.members.findByIdentity(`twitch:${twitchUser}`))?._id)).toBe(String(member._id));
    const entry = await contestModels(t.conn).Entries.findOne({ account: `twitch:${twitchUser}` }).lean();
    expect(entry?.card).toBe(member.cardNumber);
    expect(JSON.stringify(lines)).not.toContain(code!.slice(3));

    // From now on the card number does; the spent code links nobody else.
    const next = await rewardOf(g, await contest('Second giveaway'));
    const byNumber = fake.redeem(next, { userId: twitchUser, userInput: member.cardNumber! });
    const reused = fake.redeem(next, { userId: nextViewer(), userInput: code! });
    await g.pollOnce();
    expect(fake.redemptions(next).find((d) => d.id === byNumber.id)?.status).toBe('FULFILLED');
    expect(fake.redemptions(next).find((d) => d.id === reused.id)?.status).toBe('CANCELED');
  });

  it('pages through many unfulfilled redemptions (more than one Helix page of 50)', async () => {
    const g = await giveaway();
    const id = await contest('Paging');
    const rewardId = await rewardOf(g, id);
    const reds = Array.from({ length: 55 }, () => fake.redeem(rewardId, { userId: nextViewer(), userInput: 'nope' }));
    await g.pollOnce();
    expect(fake.redemptions(rewardId).filter((d) => reds.some((r) => r.id === d.id) && d.status === 'CANCELED')).toHaveLength(55);
    expect(fake.calls.some((c) => c.route === 'redemptions' && c.method === 'GET' && c.query.after !== undefined)).toBe(true);
  });

  it('a restart mid-poll (status update failed) processes nothing twice: one entry, finally FULFILLED', async () => {
    const g1 = await giveaway();
    const id = await contest('Restart');
    const rewardId = await rewardOf(g1, id);
    const { userId, card } = await viewerWithCard();
    const red = fake.redeem(rewardId, { userId, userInput: card });
    // twurple retries a 5xx three times: four failures make the PATCH fail for the poller.
    fake.failNext('PATCH redemptions', 4, 500);
    await g1.pollOnce();
    expect(fake.redemptions(rewardId).find((d) => d.id === red.id)?.status).toBe('UNFULFILLED');
    expect(lines.some((l) => l.level === 'warn' && l.obj.redemptionId === red.id)).toBe(true);
    const rec = await twitchModels(t.conn).Redemptions.findById(red.id).lean();
    expect(rec?.outcome).toBe('FULFILLED');
    expect(rec?.sentAt).toBeNull();

    // "Restart": a new client and poller on the same database; the fake still lists the redemption as UNFULFILLED.
    const g2 = await giveaway();
    await g2.pollOnce();
    expect(fake.redemptions(rewardId).find((d) => d.id === red.id)?.status).toBe('FULFILLED');
    expect(await contestModels(t.conn).Entries.countDocuments({ contestId: id })).toBe(1);
    expect(lines.filter((l) => l.msg === 'twitch redemption entered' && l.obj.redemptionId === red.id)).toHaveLength(1);
    const after = await twitchModels(t.conn).Redemptions.findById(red.id).lean();
    expect(after?.sentAt).not.toBeNull();
    expect(after?.sendAttempts).toBe(2);
  }, 20_000);

  it('two pollers at once enter a redemption once', async () => {
    const [g1, g2] = [await giveaway(), await giveaway()];
    const id = await contest('Concurrent');
    const rewardId = await rewardOf(g1, id);
    const { userId, card } = await viewerWithCard();
    const red = fake.redeem(rewardId, { userId, userInput: card });
    await Promise.all([g1.pollOnce(), g2.pollOnce()]);
    await g1.pollOnce();
    expect(fake.redemptions(rewardId).find((d) => d.id === red.id)?.status).toBe('FULFILLED');
    expect(await contestModels(t.conn).Entries.countDocuments({ contestId: id })).toBe(1);
  });

  it('an access token Twitch rejects is refreshed through id.twitch.tv and the new one stored', async () => {
    const before = await tokens.find(BROADCASTER.id);
    if (!before) throw new Error('no token');
    const g = await giveaway();
    fake.revokeAccessToken(before.accessToken);
    const id = await contest('Refresh');
    await rewardOf(g, id);
    expect(fake.calls.some((c) => c.route === 'token' && c.query.grant_type?.[0] === 'refresh_token' && c.status === 200)).toBe(true);
    await expect.poll(async () => (await tokens.find(BROADCASTER.id))?.accessToken).not.toBe(before.accessToken);
    const after = await tokens.find(BROADCASTER.id);
    expect(after?.refreshToken).not.toBe(before.refreshToken);
    expect(after?.login).toBe(BROADCASTER.login);
  });

  it('a closed contest: its last redemptions are answered (contest_not_open), then its reward is disabled', async () => {
    const g = await giveaway();
    const id = await contest('Closing');
    const rewardId = await rewardOf(g, id);
    const { userId, card } = await viewerWithCard();
    await t.core.contests.close(id, 'Стрим закончился раньше');
    const late = fake.redeem(rewardId, { userId, userInput: card });
    await g.pollOnce();
    expect(fake.redemptions(rewardId).find((d) => d.id === late.id)?.status).toBe('CANCELED');
    expect(lines.find((l) => l.obj.redemptionId === late.id)?.obj.reason).toBe('contest_not_open');
    expect(fake.rewards().find((r) => r.id === rewardId)?.isEnabled).toBe(false);
    expect((await twitchModels(t.conn).Rewards.findById(id).lean())?.retiredAt).not.toBeNull();
  });

  it('the worker\'s job scheduler polls on its own until closed', async () => {
    const g = t.core.twitch.giveaway({ helix: helixPort(await client()), i18n, log });
    const id = await contest('Loop');
    const queues = testQueues();
    const poll = await startTwitchPoll({ queues, giveaway: g, everyMs: 200, logger: createLogger('silent') });
    try {
      await expect.poll(async () => (await twitchModels(t.conn).Rewards.findById(id).lean())?.rewardId, { timeout: 5000 }).toBeTruthy();
      const rewardId = (await twitchModels(t.conn).Rewards.findById(id).lean())?.rewardId ?? '';
      const v = await viewerWithCard();
      const red = fake.redeem(rewardId, { userId: v.userId, userInput: v.card });
      await expect.poll(() => fake.redemptions(rewardId).find((d) => d.id === red.id)?.status, { timeout: 5000 }).toBe('FULFILLED');
    } finally {
      await poll.close();
      await queues.close();
    }
  });

  it('at start-up: off without a client id, off without a stored account, on with one', async () => {
    const start = (env: Record<string, string>) => startTwitchHelix({ config: loadConfig(env).twitch, tokens, logger: createLogger('silent') });
    expect((await start({})).summary).toBe('Twitch: off, no TWITCH_CLIENT_ID');
    const off = await start({ TWITCH_CLIENT_ID: fake.clientId, TWITCH_CHANNEL: 'someoneelse' });
    expect(off.summary).toBe('Twitch: off, no connected account for someoneelse: run npm run twitch:connect');
    expect(off.helix).toBeNull();
    const on = await start({ TWITCH_CLIENT_ID: fake.clientId, TWITCH_CLIENT_SECRET: fake.clientSecret, TWITCH_CHANNEL: BROADCASTER.login, TWITCH_POLL_MS: '1000' });
    expect(on.summary).toBe(`Twitch: on (channel-point giveaways on twitch.tv/${BROADCASTER.login}, polling every 1000 ms)`);
    expect(on.helix?.broadcaster).toEqual({ id: BROADCASTER.id, login: BROADCASTER.login });
    expect(on.pollMs).toBe(1000);
  });
});
