import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { Outbox } from '../events/outbox.repository.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { insertRaw } from '../shared/mongo.js';
import { sameSecret } from '../shared/secrets.js';
import type { MemberDoc } from './member.model.js';
import type { PhoneProofDoc, PhoneProofModel } from './phone-proof.model.js';

/**
 * Proof that a chat account belongs to the member whose phone it typed, for channels where a
 * typed number proves nothing (VK has no share-contact button). A 6-digit code goes to the
 * chats the member already uses (through the outbox, like any notice); whoever types it back
 * here within the time and attempt limits reads those chats, so is the member.
 */
export const PHONE_PROOF_LIMITS = {
  /** A code lives 10 minutes. */
  codeTtlMs: 10 * 60_000,
  /** Five guesses per code, then a new code must be asked for. */
  maxAttempts: 5,
  /** One new code per account per minute: typing the phone again soon repeats nothing. */
  resendAfterMs: 60_000,
  /** Codes told to one member per hour, whoever asks: bounds what a stranger can send them. */
  maxPerMemberPerHour: 5,
} as const;

const HOUR_MS = 3600_000;
/** Finished proofs are kept a day (the hourly limit counts them), then deleted. */
const KEEP_MS = 24 * HOUR_MS;

export type ProofRequest =
  | { status: 'sent'; expiresAt: Date }
  /** A code for this member was sent to this account moments ago: type that one. */
  | { status: 'cooldown'; retryInSeconds: number }
  | { status: 'too_many' };

export type ProofCheck =
  /** No code is waiting for this account (a 6-digit text is then not a code). */
  | { status: 'none' }
  | { status: 'ok'; memberId: string; phone: string }
  | { status: 'wrong'; attemptsLeft: number }
  /** Too many wrong guesses: this code is dead, ask for a new one. */
  | { status: 'locked' }
  | { status: 'expired' };

export interface ProofRequestInput {
  /** The account to be linked, `vk:<id>`. */
  identity: string;
  /** Its channel and user id, named in the notice so the member knows who asks. */
  channel: string;
  account: string;
  member: Pick<MemberDoc, '_id' | 'phone' | 'cardNumber'>;
}

function hashCode(salt: string, identity: string, code: string): string {
  return createHmac('sha256', salt).update(`${identity}:${code}`).digest('hex');
}

/** Digits only: '123 456' and '123-456' are the code 123456. */
export function normalizeCode(typed: string): string | null {
  const digits = typed.replace(/[\s-]/g, '');
  return /^\d{6}$/.test(digits) ? digits : null;
}

export function createPhoneProofService(deps: { Proofs: PhoneProofModel; outbox: Pick<Outbox, 'add'>; clock?: Clock }) {
  const { Proofs } = deps;
  const clock = deps.clock ?? systemClock;

  async function latestPending(identity: string): Promise<PhoneProofDoc | null> {
    return Proofs.findOne({ identity, status: 'pending' }).sort({ createdAt: -1 }).lean<PhoneProofDoc>();
  }

  return {
    async init(): Promise<void> {
      await Proofs.createIndexes();
    },

    /**
     * Sends a new code for `member` to be typed by `identity` (the outbox event
     * `phone.verification` carries it to the member's chats). An earlier code of this account
     * stops counting.
     */
    async request(input: ProofRequestInput): Promise<ProofRequest> {
      const now = clock.now();
      const memberId = String(input.member._id);
      await Proofs.deleteMany({ createdAt: { $lt: new Date(now.getTime() - KEEP_MS) } });
      const last = await latestPending(input.identity);
      if (last && last.memberId === memberId && last.expiresAt > now && now.getTime() - last.createdAt.getTime() < PHONE_PROOF_LIMITS.resendAfterMs) {
        return { status: 'cooldown', retryInSeconds: Math.ceil((last.createdAt.getTime() + PHONE_PROOF_LIMITS.resendAfterMs - now.getTime()) / 1000) };
      }
      const recent = await Proofs.countDocuments({ memberId, createdAt: { $gt: new Date(now.getTime() - HOUR_MS) } });
      if (recent >= PHONE_PROOF_LIMITS.maxPerMemberPerHour) return { status: 'too_many' };

      await Proofs.updateMany({ identity: input.identity, status: 'pending' }, { $set: { status: 'replaced' } });
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      const salt = randomBytes(16).toString('hex');
      const expiresAt = new Date(now.getTime() + PHONE_PROOF_LIMITS.codeTtlMs);
      const doc: PhoneProofDoc = {
        _id: randomBytes(12).toString('hex'),
        identity: input.identity,
        memberId,
        phone: input.member.phone,
        salt,
        codeHash: hashCode(salt, input.identity, code),
        attempts: 0,
        status: 'pending',
        expiresAt,
        createdAt: now,
        usedAt: null,
      };
      await insertRaw(Proofs, doc);
      await deps.outbox.add({
        id: `phone-proof:${doc._id}`,
        type: 'phone.verification',
        at: now.toISOString(),
        // Consumers key events by card; a member always has one (the placeholder is never a card number).
        card: input.member.cardNumber ?? `member:${memberId}`,
        memberId,
        data: { code, channel: input.channel, account: input.account, expiresAt: expiresAt.toISOString() },
      });
      return { status: 'sent', expiresAt };
    },

    /** The member whose live code waits for this account, or null. */
    async pending(identity: string): Promise<{ memberId: string } | null> {
      const proof = await latestPending(identity);
      return proof && proof.expiresAt > clock.now() ? { memberId: proof.memberId } : null;
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
        return used.modifiedCount === 1 ? { status: 'ok', memberId: proof.memberId, phone: proof.phone } : { status: 'expired' };
      }
      const attemptsLeft = PHONE_PROOF_LIMITS.maxAttempts - counted.attempts;
      if (attemptsLeft > 0) return { status: 'wrong', attemptsLeft };
      await Proofs.updateOne({ _id: proof._id, status: 'pending' }, { $set: { status: 'locked' } });
      return { status: 'locked' };
    },
  };
}
export type PhoneProofService = ReturnType<typeof createPhoneProofService>;
