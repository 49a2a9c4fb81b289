import type { Connection } from 'mongoose';
import { parseCardNumber } from '../cards/card-number.js';
import { cardModel } from '../cards/card.model.js';
import { memberModels, type MemberDoc } from '../members/member.model.js';
import { walletModels } from '../wallet/wallet.model.js';

/** What the audience rules need of one member. */
export type RecipientMember = Pick<MemberDoc, '_id' | 'status' | 'consent' | 'language' | 'optIn' | 'optInAt' | 'unreachable' | 'imported' | 'cardNumber' | 'roles'>;

export interface Recipient {
  member: RecipientMember;
  /** Chat user ids by channel (the linked accounts). */
  chats: { telegram?: string; vk?: string };
  hasPass: boolean;
}

const FIELDS = { status: 1, consent: 1, language: 1, optIn: 1, optInAt: 1, unreachable: 1, imported: 1, cardNumber: 1, roles: 1 } as const;

/**
 * Reads for broadcasts, a page at a time: member ids of an audience by cursor, and the members
 * of a page with their chat accounts and whether their card has a Wallet pass (three queries
 * per page, whatever its size).
 */
export function createRecipientRepository(conn: Connection) {
  const { Members, Identities, Aliases } = memberModels(conn);
  const Cards = cardModel(conn);
  const { Passes } = walletModels(conn);

  return {
    /** Active members after `after` (a member id), in id order. */
    async allPage(after: string | null, limit: number): Promise<string[]> {
      const docs = await Members.find({ status: 'active', ...(after ? { _id: { $gt: after } } : {}) }, { _id: 1 })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<{ _id: unknown }[]>();
      return docs.map((d) => String(d._id));
    },
    /** Members whose active card is at `levelId`, by card number after `after`. */
    async levelPage(levelId: string, after: string | null, limit: number): Promise<{ memberIds: string[]; next: string | null }> {
      const docs = await Cards.find({ levelId, status: 'active', ...(after ? { _id: { $gt: after } } : {}) }, { _id: 1, memberId: 1 })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<{ _id: string; memberId: string | null }[]>();
      return { memberIds: docs.flatMap((d) => (d.memberId ? [d.memberId] : [])), next: docs.length === limit ? (docs[docs.length - 1]?._id ?? null) : null };
    },
    /** Members holding these card numbers (programme or linked plastic cards); unreadable numbers are left out. */
    async byCardNumbers(raw: string[]): Promise<string[]> {
      const numbers = [...new Set(raw.map((n) => parseCardNumber(n)).flatMap((p) => (p.ok ? [p.number] : [])))];
      if (numbers.length === 0) return [];
      const aliases = await Aliases.find({ _id: { $in: numbers }, card: { $ne: null } }, { card: 1 }).lean<{ card: string }[]>();
      const cards = await Cards.find({ _id: { $in: [...numbers, ...aliases.map((a) => a.card)] }, status: 'active' }, { memberId: 1 }).lean<{ memberId: string | null }[]>();
      return [...new Set(cards.flatMap((c) => (c.memberId ? [c.memberId] : [])))];
    },
    /** Members holding these E.164 numbers. */
    async byPhones(e164: string[]): Promise<string[]> {
      if (e164.length === 0) return [];
      const docs = await Members.find({ phone: { $in: e164 }, status: 'active' }, { _id: 1 }).lean<{ _id: unknown }[]>();
      return docs.map((d) => String(d._id));
    },
    /** Active members with the admin role (test sends). */
    async admins(): Promise<string[]> {
      const docs = await Members.find({ roles: 'admin', status: 'active' }, { _id: 1 }).sort({ _id: 1 }).lean<{ _id: unknown }[]>();
      return docs.map((d) => String(d._id));
    },
    /** The members of a page (erased and unknown ids left out), in the order of `ids`. */
    async load(ids: string[]): Promise<Recipient[]> {
      const valid = ids.filter((id) => /^[0-9a-f]{24}$/.test(id));
      if (valid.length === 0) return [];
      const members = await Members.find({ _id: { $in: valid } }, FIELDS).lean<RecipientMember[]>();
      const links = await Identities.find({ memberId: { $in: valid } }, { _id: 1, memberId: 1 }).lean<{ _id: string; memberId: string }[]>();
      const cards = members.flatMap((m) => (m.cardNumber ? [m.cardNumber] : []));
      const passes = cards.length ? await Passes.find({ _id: { $in: cards } }, { _id: 1 }).lean<{ _id: string }[]>() : [];
      const withPass = new Set(passes.map((p) => p._id));
      const chats = new Map<string, Recipient['chats']>();
      for (const l of links) {
        const colon = l._id.indexOf(':');
        const channel = l._id.slice(0, colon);
        if (channel !== 'telegram' && channel !== 'vk') continue;
        const c = chats.get(l.memberId) ?? {};
        c[channel] = l._id.slice(colon + 1);
        chats.set(l.memberId, c);
      }
      const byId = new Map(members.map((m) => [String(m._id), m]));
      return valid.flatMap((id) => {
        const member = byId.get(id);
        if (!member) return [];
        return [{ member, chats: chats.get(id) ?? {}, hasPass: member.cardNumber ? withPass.has(member.cardNumber) : false }];
      });
    },
    /** The member linked to a chat account (`telegram:123`). */
    async memberOfIdentity(identity: string): Promise<string | null> {
      return (await Identities.findById(identity).lean())?.memberId ?? null;
    },
    /** Marks a chat channel unreachable (or reachable again) for a member; true when it changed. */
    async setUnreachable(memberId: string, channel: 'telegram' | 'vk', at: Date | null): Promise<boolean> {
      const path = `unreachable.${channel}`;
      const r = at
        ? await Members.updateOne({ _id: memberId, [path]: { $exists: false } }, { $set: { [path]: at } })
        : await Members.updateOne({ _id: memberId, [path]: { $exists: true } }, { $unset: { [path]: 1 } });
      return r.modifiedCount === 1;
    },
    /** The member's marketing choice for channels (the unsubscribe button, settings, the join question). */
    async setOptIn(memberId: string, channels: readonly string[], on: boolean, at: Date): Promise<boolean> {
      const set = Object.fromEntries(channels.map((c) => [`optIn.${c}`, on]));
      const r = await Members.updateOne({ _id: memberId, status: 'active' }, { $set: { ...set, optInAt: at, updatedAt: at } });
      return r.matchedCount === 1;
    },
    /** Members with a purchase in [from, to) of the last-purchase counter, by id after `after` ("we miss you"). */
    async lastPurchaseBetween(from: Date, to: Date, after: string | null, limit: number): Promise<string[]> {
      const docs = await Members.find({ status: 'active', 'stats.lastPurchaseAt': { $gte: from, $lt: to }, ...(after ? { _id: { $gt: after } } : {}) }, { _id: 1 })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<{ _id: unknown }[]>();
      return docs.map((d) => String(d._id));
    },
    /** Active cards with points expiring in [from, to): their member and the earliest such date. */
    async expiringBetween(from: Date, to: Date, after: string | null, limit: number): Promise<{ card: string; memberId: string; expiresAt: Date; points: number }[]> {
      const docs = await Cards.find({ status: 'active', 'lots.expiresAt': { $gte: from, $lt: to }, ...(after ? { _id: { $gt: after } } : {}) }, { _id: 1, memberId: 1, lots: 1 })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<{ _id: string; memberId: string | null; lots?: { expiresAt: Date; remaining: number }[] }[]>();
      return docs.flatMap((d) => {
        const lots = (d.lots ?? []).filter((l) => l.remaining > 0 && l.expiresAt >= from && l.expiresAt < to).sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime());
        const first = lots[0];
        if (!d.memberId || !first) return [];
        const points = lots.filter((l) => l.expiresAt.getTime() === first.expiresAt.getTime()).reduce((s, l) => s + l.remaining, 0);
        return [{ card: d._id, memberId: d.memberId, expiresAt: first.expiresAt, points }];
      });
    },
  };
}
export type RecipientRepository = ReturnType<typeof createRecipientRepository>;
