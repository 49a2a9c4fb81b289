import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../shared/clock.js';
import { isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import type { MemberDoc, MemberModel } from './member.model.js';
import type { MemberPhoneDoc, MemberPhoneModel, PhoneProofVia } from './phone-registry.model.js';

/** A phone and its holder: the registry entry and the member holding the number on its own document. */
export interface Holding {
  reg: MemberPhoneDoc;
  member: MemberDoc;
}

export type TakeResult =
  | { ok: true; displaced: MemberDoc | null }
  /** Someone holds the number and this claim may not take it (a proved holder, or a claim that proves nothing). */
  | { ok: false; holder: Holding };

/** What a member's `phone` holds when it holds no number (the field stays unique without a partial index). */
export const noPhone = (memberId: string): string => `none:${memberId}`;
/** Whether a member's `phone` is a number (E.164) rather than a placeholder (`none:…`, `erased:…`). */
export const hasPhone = (m: Pick<MemberDoc, 'phone'>): boolean => m.phone.startsWith('+');

/** A registry entry whose member is not written yet is waited for this long (an enrolment between its two writes). */
const IN_FLIGHT_POLLS = 20;
const IN_FLIGHT_POLL_MS = 50;

/**
 * Who holds which phone, without transactions. Taking a number is one conditional write of its
 * registry entry (`_id` = the number): insert when free, compare-and-set from the entry read
 * (a stale one, or an unproved holder a proof displaces). The member document is written after
 * (the caller's), so an entry may briefly name a member not written yet; readers wait a moment
 * for it, then treat it as stale (the enrolment crashed). A member still holding the number
 * on its document when the registry names someone else is released when found.
 */
export function createPhoneRegistry(deps: { Phones: MemberPhoneModel; Members: MemberModel; clock: Clock }) {
  const { Phones, Members, clock } = deps;

  /** The registry entry and its member as they stand: the member is null when not (or no longer) holding the number. */
  async function read(phone: string): Promise<{ reg: MemberPhoneDoc; member: MemberDoc | null; missing: boolean } | null> {
    const reg = await Phones.findById(phone).lean<MemberPhoneDoc>();
    if (!reg) return null;
    const m = await Members.findById(reg.memberId).lean<MemberDoc>();
    const holds = m !== null && m.phone === phone && m.status !== 'erased';
    return { reg, member: holds ? m : null, missing: m === null };
  }

  /** Like read, waiting a moment for an entry whose member is being written by a concurrent enrolment. */
  async function settled(phone: string): Promise<{ reg: MemberPhoneDoc; member: MemberDoc | null } | null> {
    for (let i = 0; ; i++) {
      const r = await read(phone);
      if (!r || !r.missing || i >= IN_FLIGHT_POLLS) return r;
      await sleep(IN_FLIGHT_POLL_MS);
    }
  }

  async function holder(phone: string): Promise<Holding | null> {
    const r = await settled(phone);
    return r?.member ? { reg: r.reg, member: r.member } : null;
  }

  /** Takes the number off a member's document (displaced or erased); `told` marks it for the member's next visit. */
  async function release(memberId: string, phone: string, told: 'tell' | 'silent'): Promise<void> {
    const now = clock.now();
    await Members.updateOne(
      { _id: memberId, phone },
      { $set: { phone: noPhone(memberId), updatedAt: now, ...(told === 'tell' ? { phoneReleasedAt: now } : {}) } },
    );
  }

  return {
    holder,
    release,

    async init(): Promise<void> {
      await Phones.createIndexes();
    },

    /**
     * Gives `phone` to the member `to` (not written yet, or already written without a number).
     * A free or stale entry is taken; a holder is displaced only when this claim proves the
     * number (`proved`) and theirs was never proved; else the holder is answered.
     */
    async take(phone: string, to: string, opts: { proved: boolean; via: PhoneProofVia | 'typed' }): Promise<TakeResult> {
      const entry = (): MemberPhoneDoc => ({ _id: phone, memberId: to, proved: opts.proved, via: opts.via, at: clock.now() });
      for (let attempt = 0; attempt < 8; attempt++) {
        const r = await settled(phone);
        if (!r) {
          try {
            await insertRaw(Phones, entry());
            return { ok: true, displaced: null };
          } catch (err) {
            if (!isDuplicateKey(err)) throw err;
            continue;
          }
        }
        if (r.reg.memberId === to) {
          if (opts.proved && !r.reg.proved) await Phones.updateOne({ _id: phone, memberId: to }, { $set: { proved: true, via: opts.via, at: clock.now() } });
          return { ok: true, displaced: null };
        }
        if (r.member && (r.reg.proved || !opts.proved)) return { ok: false, holder: { reg: r.reg, member: r.member } };
        // A stale entry, or an unproved holder this proof displaces: compare-and-set from what was read.
        const cas = await Phones.updateOne({ _id: phone, memberId: r.reg.memberId, proved: r.reg.proved }, { $set: { memberId: to, proved: opts.proved, via: opts.via, at: clock.now() } });
        if (cas.modifiedCount !== 1) continue;
        if (r.member) await release(String(r.member._id), phone, 'tell');
        return { ok: true, displaced: r.member };
      }
      throw new Error(`phone registry: could not settle ${phone.slice(0, 3)}…`);
    },

    /**
     * The number `to` was given is still on another member's document (a displacement cut
     * short by a crash): that member is released, when the registry still names `to`.
     * True when the caller may write the number again.
     */
    async clearLeftover(phone: string, to: string): Promise<boolean> {
      const reg = await Phones.findById(phone).lean<MemberPhoneDoc>();
      if (reg?.memberId !== to) return false;
      // Rare (after a crash): the one filter here that is not by _id.
      const other = await Members.findOne({ phone, _id: { $ne: to } }, { _id: 1 }).lean<{ _id: unknown }>();
      if (other) await release(String(other._id), phone, 'tell');
      return true;
    },

    /** Forgets the number (the member erased or gave it up), if `memberId` still holds it. */
    async forget(phone: string, memberId: string): Promise<void> {
      await Phones.deleteOne({ _id: phone, memberId });
    },

    /**
     * Members written before the registry existed: each number gets its entry, proved unless it
     * was typed in a chat (VK, the terminal). Two reads of whole collections, at start only.
     */
    async backfill(): Promise<number> {
      const known = new Set((await Phones.find({}, { _id: 1 }).lean<{ _id: string }[]>()).map((p) => p._id));
      const members = await Members.find({ phone: { $regex: '^\\+' }, status: { $ne: 'erased' } }, { phone: 1, joinedVia: 1 }).lean<Pick<MemberDoc, '_id' | 'phone' | 'joinedVia'>[]>();
      const missing = members.filter((m) => !known.has(m.phone));
      for (const m of missing) {
        const typed = m.joinedVia === 'vk' || m.joinedVia === 'console';
        await insertRaw(Phones, { _id: m.phone, memberId: String(m._id), proved: !typed, via: typed ? 'typed' : 'legacy', at: clock.now() }).catch((err: unknown) => {
          if (!isDuplicateKey(err)) throw err;
        });
      }
      return missing.length;
    },
  };
}
export type PhoneRegistry = ReturnType<typeof createPhoneRegistry>;
