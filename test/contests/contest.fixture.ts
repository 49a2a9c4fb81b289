import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { expect } from 'vitest';
import { contestAdminRoutes, contestPublicRoutes } from '../../api/routes/contests.routes.js';
import { authPlugin } from '../../api/plugins/auth.plugin.js';
import { registerErrorHandler } from '../../api/plugins/errors.plugin.js';
import { contestModels } from '../../core/contests/contest.model.js';
import { createContestService, type ContestService, type NewContest } from '../../core/contests/contest.service.js';
import type { ContestLog } from '../../core/contests/contest.throttle.js';
import { DomainError } from '../../core/shared/errors.js';
import type { RateLimit } from '../../core/shared/rate-counter.repository.js';
import { newMember, testCore, type TestCore } from '../helpers/core.js';

export interface LogLine {
  level: 'info' | 'warn';
  obj: Record<string, unknown>;
  msg: string;
}

export interface ContestTest extends TestCore {
  contests: ContestService;
  logs: LogLine[];
  /** A member's active card number (no account linked to its member). */
  card(): Promise<string>;
  /** A member with an account of `channel` linked to it: the account enters with the card. */
  entrant(channel?: string): Promise<{ account: string; card: string; memberId: string }>;
  /** Links one more account of `channel` to the member of `card`. */
  accountOf(card: string, channel?: string): Promise<string>;
  /** A contest open now on every channel, closing in a day. */
  contest(extra?: Partial<NewContest>): Promise<string>;
}

let account = 1000;
/** A fresh social account id of a channel. */
export const acct = (channel = 'telegram'): string => `${channel}:${++account}`;

export async function contestTest(opts: { wrongCap?: RateLimit } = {}): Promise<ContestTest> {
  const t = await testCore();
  const logs: LogLine[] = [];
  const log: ContestLog = {
    info: (obj, msg) => logs.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }),
  };
  const contests = createContestService({
    models: contestModels(t.conn),
    cards: t.core.cards,
    members: t.core.members,
    links: t.core.accountLinks,
    rates: t.core.rates,
    ...(opts.wrongCap ? { wrongCap: opts.wrongCap } : {}),
    settings: () => t.core.settings.current(),
    outbox: t.core.outbox,
    clock: t.clock,
    log,
  });
  await contests.init();
  return {
    ...t,
    contests,
    logs,
    card: async () => (await newMember(t.core)).card._id,
    async entrant(channel = 'telegram') {
      const { member, card } = await newMember(t.core);
      const account = acct(channel);
      await t.core.members.linkIdentity(String(member._id), account);
      return { account, card: card._id, memberId: String(member._id) };
    },
    async accountOf(card, channel = 'telegram') {
      const c = await t.core.cards.byNumber(card);
      const account = acct(channel);
      await t.core.members.linkIdentity(c!.memberId!, account);
      return account;
    },
    contest: async (extra = {}) =>
      (
        await contests.create({
          title: 'Сертификат на 3 000 ₽',
          prizes: 3,
          channels: ['telegram', 'vk', 'twitch'],
          closesAt: new Date(t.clock.now().getTime() + 24 * 3600_000),
          ...extra,
        })
      ).id,
  };
}

/** Runs `fn` and returns the DomainError code it threw (fails when it did not throw one). */
export async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
  expect.fail('expected a refusal');
}

/** The contest routes on a minimal app: the product's error handler and admin authentication, nothing else. */
export async function contestApp(t: ContestTest, adminToken: string): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  await app.register(authPlugin, { stores: t.core.stores, adminToken });
  // As api/app.ts registers them: public routes as they are, admin routes under /admin behind the token.
  await app.register(
    async (api) => {
      await api.register(contestPublicRoutes({ contests: t.contests }));
      await api.register(
        async (adm) => {
          adm.addHook('onRequest', adm.authenticateAdmin);
          await adm.register(contestAdminRoutes({ contests: t.contests }));
        },
        { prefix: '/admin' },
      );
    },
    { prefix: '/api/v1' },
  );
  await app.ready();
  return app;
}
