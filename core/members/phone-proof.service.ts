import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { Outbox } from '../events/outbox.repository.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { insertRaw } from '../shared/mongo.js';
import type { RateCounters, RateLimit } from '../shared/rate-counter.repository.js';
import { sameSecret } from '../shared/secrets.js';
import type { PhoneProofDoc, PhoneProofModel } from './phone-proof.model.js';

/**
 * Proof that a chat account belongs to the member whose phone it typed, for channels where a
 * typed number proves nothing (VK, the terminal chat). A 6-digit code goes to the chats the
 * member already uses (through the outbox, like any notice); whoever types it back here within
 * the time and attempt limits reads those chats, so is the member.
 */
export const PHONE_PROOF_LIMITS = {
  /** A code lives 10 minutes. */
  codeTtlMs: 10 * 60_000,
  /** Five guesses per code, then a new code must be asked for. */
  maxAttempts: 5,
  /** Numbers one account may type per hour (each asks for a code, told or not). */
  perAccount: { max: 5, windowMs: 3600_000 } satisfies RateLimit,
  /** Numbers all accounts together may type per hour: a flood of new accounts asks no more. */
  overall: { max: 200, windowMs: 3600_000 } satisfies RateLimit,
  /** Codes told to one member per hour, whoever asks: bounds what strangers can send them. */
  perMember: { max: 5, windowMs: 3600_000 } satisfies RateLimit,
} as const;

/** Finished proofs are kept a day, then deleted. */
const KEEP_MS = 24 * 3600_000;

export type ProofRequest = { status: 'sent'; expiresAt: Date } | { status: 'too_many'; retryAt: Date };

export type ProofCheck =
  /** No code is waiting for this account. */
  | { status: 'none' }
  /** The right code: `memberId` null for a code told to nobody (it cannot really be typed). */
  | { status: 'ok'; memberId: string | null; phoneHash: string | null }
  | { status: 'wrong'; attemptsLeft: number }
  /** Too many wrong guesses: this code is dead, ask for a new one. */
  | { status: 'locked' }
  | { status: 'expired' };

export interface ProofTarget {
  memberId: string;
  phoneHash: string;
  cardNumber: string | null;
}

export interface ProofRequestInput {
  /** The account to be linked, `vk:<id>`. */
  identity: string;
  /** Its channel and user id, named in the notice so the member knows who asks. */
  channel: string;
  account: string;
  /** The member to tell the code, when the typed number has a holder with a chat to tell it in. */
  target: ProofTarget | null;
}

function hashCode(salt: string, identity: string, code: string): string {
  return createHmac('sha256', salt).update(`${identity}:${code}`).digest('hex');
}

/** Digits only: '123 456' and '123-456' are the code 123456. */
export function normalizeCode(typed: string): string | null {
  const digits = typed.replace(/[\s-]/g, '');
  return /^\d{6}$/.test(digits) ? digits : null;
}

export function createPhoneProofService(deps: { Proofs: PhoneProofModel; outbox: Pick<Outbox, 'add'>; rates: RateCounters; clock?: Clock }) {
  const { Proofs, rates } = deps;
  const clock = deps.clock ?? systemClock;

  async function latestPending(identity: string): Promise<PhoneProofDoc | null> {
    return Proofs.findOne({ identity, status: 'pending' }).sort({ createdAt: -1 }).lean<PhoneProofDoc>();
  }

  return {
    async init(): Promise<void> {
      await Proofs.createIndexes();
    },

    /**
     * A number was typed: a new code for this account, told to the target member when there is
     * one (the outbox event `phone.verification` carries it to their chats), told to nobody
     * otherwise. The answer is the same either way. An earlier code of this account stops
     * counting. The limits (per account, overall) are counted before anything is looked at.
     */
    async request(input: ProofRequestInput): Promise<ProofRequest> {
      const [account, overall] = [await rates.hit('proof-account', input.identity, PHONE_PROOF_LIMITS.perAccount), await rates.hit('proof-all', 'all', PHONE_PROOF_LIMITS.overall)];
      if (!account.allowed || !overall.allowed) return { status: 'too_many', retryAt: account.allowed ? overall.resetAt : account.resetAt };
      const now = clock.now();
      await Proofs.deleteMany({ createdAt: { $lt: new Date(now.getTime() - KEEP_MS) } });
      await Proofs.updateMany({ identity: input.identity, status: 'pending' }, { $set: { status: 'replaced' } });
      // A member already told five codes this hour is told no sixth; the typist is answered the same.
      const target = input.target && (await rates.hit('proof-member', input.target.memberId, PHONE_PROOF_LIMITS.perMember)).allowed ? input.target : null;
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      const salt = randomBytes(16).toString('hex');
      const expiresAt = new Date(now.getTime() + PHONE_PROOF_LIMITS.codeTtlMs);
      const doc: PhoneProofDoc = {
        _id: randomBytes(12).toString('hex'),
        identity: input.identity,
        memberId: target?.memberId ?? null,
        phoneHash: target?.phoneHash ?? null,
        salt,
        codeHash: hashCode(salt, input.identity, code),
        attempts: 0,
        status: 'pending',
        expiresAt,
        createdAt: now,
        usedAt: null,
      };
      await insertRaw(Proofs, doc);
      if (target) {
        await deps.outbox.add({
          id: `phone-proof:${doc._id}`,
          type: 'phone.verification',
          at: now.toISOString(),
          // Consumers key events by card; a member always has one (the placeholder is never a card number).
          card: target.cardNumber ?? `member:${target.memberId}`,
          memberId: target.memberId,
          data: { code, channel: input.channel, account: input.account, expiresAt: expiresAt.toISOString() },
        });
      }
      return { status: 'sent', expiresAt };
    },

    /** Checks a typed code against this account's latest code. The attempt is counted before the comparison. */
    async verify(identity: string, typed: string): Promise<ProofCheck> {
      const code = normalizeCode(typed);
      const proof = await latestPending(identity);
      if (!proof) return { status: 'none' };
      const now = clock.now();
      if (proof.expiresAt <= now) return { status: 'expired' };
      // Atomic: concurrent guesses (several api processes) cannot make more than maxAttempts.
      const counted = await Proofs.findOneAndUpdate(
        { _id: proof._id, status: 'pending', attempts: { $lt: PHONE_PROOF_LIMITS.maxAttempts } },
        { $inc: { attempts: 1 } },
        { returnDocument: 'after' },
      ).lean<PhoneProofDoc>();
      if (!counted) return { status: 'locked' };
      if (code !== null && sameSecret(hashCode(proof.salt, identity, code), proof.codeHash)) {
        const used = await Proofs.updateOne({ _id: proof._id, status: 'pending' }, { $set: { status: 'used', usedAt: now } });
        // Another process took this code a moment ago: it is spent.
        return used.modifiedCount === 1 ? { status: 'ok', memberId: proof.memberId, phoneHash: proof.phoneHash } : { status: 'expired' };
      }
      const attemptsLeft = PHONE_PROOF_LIMITS.maxAttempts - counted.attempts;
      if (attemptsLeft > 0) return { status: 'wrong', attemptsLeft };
      await Proofs.updateOne({ _id: proof._id, status: 'pending' }, { $set: { status: 'locked' } });
      return { status: 'locked' };
    },

    /** Erasure: the proofs a member was told and the ones their accounts asked for. */
    async forget(memberId: string, identities: readonly string[]): Promise<void> {
      await Proofs.deleteMany({ $or: [{ memberId }, { identity: { $in: [...identities] } }] });
    },

    /** Proofs older than a day (maintenance). */
    async prune(): Promise<number> {
      return (await Proofs.deleteMany({ createdAt: { $lt: new Date(clock.now().getTime() - KEEP_MS) } })).deletedCount;
    },
  };
}
export type PhoneProofService = ReturnType<typeof createPhoneProofService>;
