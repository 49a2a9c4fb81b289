import { randomBytes } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import type { MemberRecentRepository } from '../core/members/member-recent.repository.js';
import { progress } from './bench.servers.js';

const DAY = 86_400_000;
const BATCH = 1000;

/**
 * A base of `members` members written straight into the collections, in the shapes the core
 * writes them (member with its counters copy, card, phone registry entry, the newest-first
 * list on the embedded store), plus two years of
 * daily documents and retention cells and `factsPerMember` rolled-up purchase facts each: what
 * the panel reads after a shop has run for a while. The import (bench/insight.bench.ts) is
 * measured on its own; seeding 100,000 members through it would take the bench an hour.
 */
export async function seedBase(conn: Connection, members: number, recent?: Pick<MemberRecentRepository, 'add'>, factsPerMember = 2): Promise<void> {
  const now = Date.now();
  const day = (t: number): string => new Date(t).toISOString().slice(0, 10);
  let facts = 0;
  for (let from = 0; from < members; from += BATCH) {
    const ms = [];
    const cards = [];
    const phones = [];
    const fs = [];
    for (let i = from; i < Math.min(members, from + BATCH); i++) {
      const _id = new Types.ObjectId();
      const phone = `+79${String(1_000_000_000 + i).slice(1)}`;
      const number = `70${String(100_000_000_000 + i).slice(1)}`;
      const registeredAt = new Date(now - (i % 730) * DAY - (i % 86_400) * 1000);
      const bought = i % 5 !== 0;
      const lastPurchaseAt = bought ? new Date(now - (i % 200) * DAY) : null;
      const purchases = bought ? 1 + (i % 9) : 0;
      const balance = 100 + (i % 900);
      ms.push({
        _id, phone, name: `Клиент ${i}`, language: 'ru', consent: { at: registeredAt, version: '2026-01' }, status: 'active', cardNumber: number,
        referralCode: randomBytes(6).toString('hex'), referrerId: null, joinedVia: i % 2 ? 'telegram' : 'till', storeId: null, optIn: {}, notifications: true, roles: [],
        birthday: null, registeredAt, erasedAt: null, createdAt: registeredAt, updatedAt: registeredAt,
        ...(i % 3 === 0 ? { imported: { importId: 'bench', createdByImport: true, at: registeredAt } } : {}),
        stats: { seq: 1, purchases, spentKopecks: purchases * 150_000, lastPurchaseAt, earned: balance, redeemed: 0, expired: 0, balance, levelId: 'base' },
      });
      cards.push({
        _id: number, status: 'active', source: 'issued', spentKopecks: purchases * 150_000, purchases, lastPurchaseAt, memberId: String(_id), levelId: 'base', replacedBy: null,
        balance, debt: 0, manualLevelId: null, lots: [{ entryId: `seed:${number}`, earnedAt: registeredAt, expiresAt: new Date(now + 180 * DAY), remaining: balance }],
        earnedTotal: balance, spentPointsTotal: 0, expiredTotal: 0, refunds: [], version: 1, createdAt: registeredAt, updatedAt: registeredAt,
      });
      phones.push({ _id: phone, memberId: String(_id), proved: true, via: 'import', at: registeredAt });
      for (let k = 0; k < factsPerMember; k++) {
        const at = new Date(now - ((i + k * 37) % 730) * DAY);
        fs.push({ _id: `seed:${i}:${k}`, cell: day(at.getTime()), at, memberId: String(_id), rolled: true, net: 15, accrued: 15, purchases: 1, revenueKopecks: 150_000 });
        facts++;
      }
    }
    await Promise.all([conn.collection('members').insertMany(ms), conn.collection('cards').insertMany(cards as never[]), conn.collection('member_phones').insertMany(phones as never[])]);
    // The embedded store's member list, as the core keeps it (core/members/member-recent.repository.ts).
    await recent?.add(ms.map((m) => String(m._id)));
    if (fs.length) await conn.collection('insight_facts').insertMany(fs as never[]);
    progress('seeding members, %', Math.round(((from + BATCH) / members) * 100), 100);
  }
  // The daily documents and retention cells those facts roll up into (what the roll-up keeps).
  const perDay = Math.max(1, Math.round(facts / 730));
  const days = [];
  for (let d = 0; d < 730; d++) days.push({ _id: day(now - d * DAY), v: { net: 15 * perDay, accrued: 15 * perDay, purchases: perDay, revenueKopecks: 150_000 * perDay }, n: perDay, stale: false, at: new Date() });
  await conn.collection('insight_daily').insertMany(days as never[]);
  const cohorts = new Map<string, object>();
  for (let j = 0; j < 24; j++) {
    const join = new Date(now - j * 30 * DAY).toISOString().slice(0, 7);
    for (let m = 0; m <= j; m++) {
      const _id = `${join}|${new Date(now - (j - m) * 30 * DAY).toISOString().slice(0, 7)}`;
      cohorts.set(_id, { _id, v: {}, n: Math.round(members / 24 / (m + 2)), stale: false, at: new Date() });
    }
  }
  await conn.collection('insight_cohorts').insertMany([...cohorts.values()] as never[]);
  process.stderr.write('\n');
}
