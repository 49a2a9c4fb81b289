import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import { DomainError } from '../../core/shared/errors.js';
import type { Wallet } from '../../core/wallet/wallet.service.js';
import type { Logger } from '../../infra/logger.js';
import type { ApnsClient, PushResult } from './apns.client.js';

export const WALLET_UPDATES_QUEUE = 'wallet-pass-updates';
export const PASS_UPDATE_JOB = 'pass-update';

export const passUpdatePayload = z.strictObject({ serial: z.string().regex(/^[0-9A-Z]{4,32}$/) });
export type PassUpdatePayload = z.infer<typeof passUpdatePayload>;

/**
 * One job per card at a time, debounced: the first change schedules `pass-<card>` after
 * `delayMs`; later changes while it waits add nothing (it reads the card when it runs, so it
 * carries them all); a change while it runs queues exactly one follow-up (keepLastIfActive).
 * Ten accruals within the delay thus give one update and one push with the final balance.
 * A plain jobId would drop a change that lands while the job runs.
 */
export function passUpdateJobOptions(serial: string, delayMs: number): JobsOptions {
  return {
    delay: delayMs,
    deduplication: { id: `pass-${serial}`, keepLastIfActive: true },
    attempts: PASS_UPDATE_ATTEMPTS,
    backoff: { type: PUSH_BACKOFF },
    removeOnComplete: true,
    removeOnFail: 1000,
  };
}

/** The one retry layer of pushes: a job's attempts (the APNs client tries each push once). */
export const PASS_UPDATE_ATTEMPTS = 8;
/** The backoff type of pass-update jobs, computed by passUpdateBackoff (the worker's backoffStrategy). */
export const PUSH_BACKOFF = 'apns';

/** Pushes APNs did not take for now (429, 5xx, no answer): the job fails this attempt and BullMQ retries it. */
export class PushesPending extends Error {
  constructor(
    readonly count: number,
    /** The longest Retry-After APNs gave, if any. */
    readonly retryAfterMs: number,
    serial: string,
  ) {
    super(`wallet: ${count} push(es) for ${serial} not taken by APNs yet; the job retries them`);
    this.name = 'PushesPending';
  }
}

/**
 * Delay before attempt n+1: exponential from `baseMs` (1 s, 2 s, 4 s … by default), with
 * jitter so a burst of failed jobs does not come back at once, and never sooner than APNs'
 * own Retry-After.
 */
export function passUpdateBackoff(baseMs: number): (attemptsMade: number, type?: string, err?: Error) => number {
  return (attemptsMade, _type, err) => {
    const exp = Math.min(5 * 60_000, baseMs * 2 ** Math.max(0, attemptsMade - 1)) * (0.5 + Math.random() / 2);
    return Math.round(Math.max(exp, err instanceof PushesPending ? err.retryAfterMs : 0));
  };
}

export interface PassUpdateResult {
  changed: boolean;
  pushed: number;
  removed: number;
}

export interface PassUpdateDeps {
  wallet: Wallet;
  apns: ApnsClient | null;
  logger: Logger;
  /** Sign the new state before pushing, so the device's fetch right after the push is served from the cache. */
  prewarm: boolean;
}

/** Reasons that say our configuration is wrong (key, team, topic): retrying the job will not help, fixing the config will. */
const CONFIG_REASONS = new Set(['InvalidProviderToken', 'MissingProviderToken', 'TopicDisallowed', 'BadTopic', 'MissingTopic', 'BadCertificate', 'BadCertificateEnvironment']);

/**
 * Refreshes a pass and pushes its new state to each registered device once. A device is
 * marked with the state it was pushed, so a retried job pushes only the ones it missed.
 * 410 Unregistered removes the registrations of that push token; a 429, 5xx or no answer
 * fails the attempt (PushesPending) and the job is retried with backoff.
 */
export async function runPassUpdate(deps: PassUpdateDeps, payload: PassUpdatePayload): Promise<PassUpdateResult> {
  const { wallet, apns, logger } = deps;
  let refreshed;
  try {
    refreshed = await wallet.passes.refresh(payload.serial);
  } catch (err) {
    // The pass or its card is gone: nothing to update.
    if (err instanceof DomainError && (err.code === 'not_found' || err.code === 'card_not_found')) return { changed: false, pushed: 0, removed: 0 };
    throw err;
  }
  const { doc, changed } = refreshed;
  const hash = doc.stateHash;
  if (!hash) return { changed, pushed: 0, removed: 0 };
  if (deps.prewarm) {
    await wallet.passes.file(doc).catch((err: unknown) => logger.warn({ err, serial: doc._id }, 'wallet: pre-signing the pass failed'));
  }
  if (!apns) return { changed, pushed: 0, removed: 0 };
  const pending = await wallet.registry.pending(doc._id, hash);
  const results: { reg: (typeof pending)[number]; r: PushResult }[] = await Promise.all(
    pending.map(async (reg) => ({ reg, r: await apns.push(reg.pushToken, wallet.passTypeId) })),
  );
  const done: string[] = [];
  let removed = 0;
  let retry = 0;
  let retryAfterMs = 0;
  for (const { reg, r } of results) {
    if (r.status === 200) done.push(reg._id);
    else if (r.status === 410) removed += await wallet.registry.removePushToken(reg.pushToken, r.timestamp ? new Date(r.timestamp) : undefined);
    else if (r.status === 0 || r.status === 429 || r.status >= 500) {
      retry++;
      retryAfterMs = Math.max(retryAfterMs, r.retryAfterMs ?? 0);
    }
    else if (CONFIG_REASONS.has(r.reason ?? '')) throw new Error(`APNs refused our credentials: ${r.status} ${r.reason ?? ''} (check APNS_KEY, APNS_KEY_ID, WALLET_TEAM_ID, WALLET_PASS_TYPE_ID)`);
    else {
      // A token APNs will never take (BadDeviceToken …): do not push it this state again.
      logger.warn({ serial: doc._id, device: reg.device, status: r.status, reason: r.reason }, 'wallet: push refused');
      done.push(reg._id);
    }
  }
  await wallet.registry.markPushed(done, hash);
  if (retry > 0) throw new PushesPending(retry, retryAfterMs, doc._id);
  return { changed, pushed: done.length, removed };
}
