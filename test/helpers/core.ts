import { inject } from 'vitest';
import { createCore, type Core } from '../../core/core.js';
import type { LedgerHooks } from '../../core/ledger/ledger.service.js';
import { fixedClock } from './clock.js';
import type { Connection } from '../../infra/mongo.js';
import { TEST_PHONE_SECRET, testMongo } from './env.js';
import { recordingSink, type RecordingSink } from './events.js';

export interface TestCore {
  conn: Connection;
  core: Core;
  clock: ReturnType<typeof fixedClock>;
  /** The events the ledger handed over (and where a test forwards them). */
  events: RecordingSink;
  close(): Promise<void>;
}

/** A wired core on this test file's own database, with a fake clock. */
export async function testCore(opts: { ledgerHooks?: LedgerHooks; conn?: Connection; start?: Date; ledgerBudgetMs?: number } = {}): Promise<TestCore> {
  const conn = opts.conn ?? (await testMongo());
  const clock = fixedClock(opts.start ?? new Date('2026-03-01T10:00:00Z'));
  const events = recordingSink();
  const core = createCore({
    conn,
    clock,
    events: events.sink,
    guardedCardWrites: inject('mongoSource') !== 'ferretdb',
    phoneHashSecret: TEST_PHONE_SECRET,
    ...(opts.ledgerHooks ? { ledgerHooks: opts.ledgerHooks } : {}),
    ...(opts.ledgerBudgetMs !== undefined ? { ledgerBudgetMs: opts.ledgerBudgetMs } : {}),
  });
  await core.init();
  return {
    conn,
    core,
    clock,
    events,
    async close() {
      core.close();
      if (!opts.conn) {
        await conn.dropDatabase();
        await conn.close();
      }
    },
  };
}

let phoneSeq = 0;
/** A unique valid Russian mobile number per call. */
export function testPhone(): string {
  phoneSeq += 1;
  return `+7999${String(Date.now() % 10000).padStart(4, '0')}${String(phoneSeq).padStart(3, '0')}`;
}

export async function newMember(core: Core, extra: { referralCode?: string; channel?: 'telegram' | 'till' } = {}) {
  return core.members.enroll({ phone: testPhone(), name: 'Анна', consent: true, channel: extra.channel ?? 'till', ...(extra.referralCode ? { referralCode: extra.referralCode } : {}) });
}
