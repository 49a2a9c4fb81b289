import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { contestModels } from '../contests/contest.model.js';
import { insightModels } from '../insight/insight.model.js';
import { shopMonth } from '../insight/shop-time.js';
import { memberModels, type MemberDoc } from '../members/member.model.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { walletModels } from '../wallet/wallet.model.js';
import { audienceCollection, type AudienceDoc } from './audience.model.js';
import { quintileScorer, rfmGroup, RFM_GROUPS } from './rfm.score.js';

/** What the members report and the LTV report read: tallied while the audience is built. */
export interface AudienceSnapshot {
  collection: string;
  run: string;
  at: string;
  members: number;
  purchasers: number;
  rfmGroups: Record<string, number>;
  byJoinChannel: Record<string, number>;
  usingChannel: Record<string, number>;
  withPass: number;
  reachable: Record<string, number>;
  byLevel: Record<string, { members: number; spentKopecks: number }>;
  byCohort: Record<string, { members: number; spentKopecks: number }>;
}

const SNAPSHOT_ID = 'audience';
const PAGE = 1000;
export const MARKETING_CHANNELS = ['telegram', 'vk', 'wallet'] as const;

/**
 * The audience pass (nightly, and on demand): scores RFM and builds the segment collection.
 *
 *  1. one read of the purchasers' last purchase, count and spend → the quintile cuts;
 *  2. one read each of identities, wallet passes and registrations, contest entries and
 *     referrers → per-member channels, pass, contests, referrals (kept in memory by member id);
 *  3. one read of the members → an audience document each, inserted in batches into a new
 *     collection, tallies for the reports on the way;
 *  4. the snapshot names the new collection (the switch is one write), the one before the
 *     previous is dropped.
 * Linear in the base, and never an update per member.
 */
export async function buildAudience(deps: { conn: Connection; clock: Clock; timeZone: string; settings: ProgrammeSettings }): Promise<AudienceSnapshot> {
  const { Members, Identities } = memberModels(deps.conn);
  const { Snapshots } = insightModels(deps.conn);
  const now = deps.clock.now();
  const run = `${now.getTime().toString(36)}${randomBytes(3).toString('hex')}`;
  const active = { status: 'active' as const };

  // 1. RFM cuts over the members with purchases.
  const rec: number[] = [];
  const freq: number[] = [];
  const mon: number[] = [];
  for await (const m of Members.find({ ...active, 'stats.purchases': { $gt: 0 } }, { stats: 1 }).lean<Pick<MemberDoc, 'stats'>[]>().cursor()) {
    const s = m.stats;
    if (!s) continue;
    rec.push(s.lastPurchaseAt ? new Date(s.lastPurchaseAt).getTime() : 0);
    freq.push(s.purchases);
    mon.push(s.spentKopecks);
  }
  const scoreR = quintileScorer(Float64Array.from(rec));
  const scoreF = quintileScorer(Float64Array.from(freq));
  const scoreM = quintileScorer(Float64Array.from(mon));

  // 2. What other collections know about members, one read each.
  const channels = new Map<string, Set<string>>();
  for await (const i of Identities.find({}, { memberId: 1 }).lean<{ _id: string; memberId: string }[]>().cursor()) {
    const ch = i._id.split(':')[0] ?? '';
    let set = channels.get(i.memberId);
    if (!set) channels.set(i.memberId, (set = new Set()));
    set.add(ch);
  }
  const { Passes, Registrations } = walletModels(deps.conn);
  const installed = new Set<string>();
  for await (const r of Registrations.find({}, { serial: 1 }).lean<{ serial: string }[]>().cursor()) installed.add(r.serial);
  const cardsWithPass = new Set<string>();
  for await (const p of Passes.find({}, { card: 1 }).lean<{ _id: string; card: string }[]>().cursor()) if (installed.has(p._id)) cardsWithPass.add(p.card);
  const contests = new Map<string, number>();
  for await (const e of contestModels(deps.conn).Entries.find({ memberId: { $ne: null } }, { memberId: 1 }).lean<{ memberId: string }[]>().cursor()) {
    contests.set(e.memberId, (contests.get(e.memberId) ?? 0) + 1);
  }
  const referrals = new Map<string, number>();
  for await (const m of Members.find({ referrerId: { $ne: null } }, { referrerId: 1 }).lean<{ referrerId: string }[]>().cursor()) {
    referrals.set(m.referrerId, (referrals.get(m.referrerId) ?? 0) + 1);
  }

  // 3. The audience documents, and the tallies.
  const name = `audience_${run}`;
  const out = audienceCollection(deps.conn, name);
  const snap: AudienceSnapshot = {
    collection: name,
    run,
    at: now.toISOString(),
    members: 0,
    purchasers: rec.length,
    rfmGroups: Object.fromEntries(RFM_GROUPS.map((g) => [g, 0])),
    byJoinChannel: {},
    usingChannel: {},
    withPass: 0,
    reachable: Object.fromEntries(MARKETING_CHANNELS.map((c) => [c, 0])),
    byLevel: {},
    byCohort: {},
  };
  const base = deps.settings.levels[0]?.id ?? 'base';
  let page: AudienceDoc[] = [];
  const flush = async (): Promise<void> => {
    if (page.length) await out.insertMany(page);
    page = [];
  };
  for await (const m of Members.find(active).sort({ _id: 1 }).lean<MemberDoc[]>().cursor()) {
    const id = String(m._id);
    const s = m.stats;
    const purchases = s?.purchases ?? 0;
    const has = channels.get(id) ?? new Set<string>();
    const hasPass = m.cardNumber ? cardsWithPass.has(m.cardNumber) : false;
    const reachable = MARKETING_CHANNELS.filter((c) => m.optIn[c] === true && (c === 'wallet' ? hasPass : has.has(c)));
    const scored = purchases > 0 && s;
    const r = scored ? scoreR(s.lastPurchaseAt ? new Date(s.lastPurchaseAt).getTime() : 0) : null;
    const f = scored ? scoreF(s.purchases) : null;
    const mm = scored ? scoreM(s.spentKopecks) : null;
    const group = r && f && mm ? rfmGroup(r, f, mm) : null;
    const joinedAt = m.registeredAt ?? m.createdAt;
    const doc: AudienceDoc = {
      _id: m._id,
      joinedAt,
      joinMonth: joinedAt ? shopMonth(new Date(joinedAt), deps.timeZone) : null,
      channel: m.joinedVia,
      imported: m.imported?.createdByImport === true,
      level: s?.levelId ?? base,
      purchases,
      spentKopecks: s?.spentKopecks ?? 0,
      lastPurchaseAt: s?.lastPurchaseAt ?? null,
      earned: s?.earned ?? 0,
      redeemed: s?.redeemed ?? 0,
      expired: s?.expired ?? 0,
      balance: s?.balance ?? 0,
      referrals: referrals.get(id) ?? 0,
      contests: contests.get(id) ?? 0,
      channels: [...has].sort(),
      hasPass,
      reachable,
      rfmR: r,
      rfmF: f,
      rfmM: mm,
      rfmGroup: group,
    };
    page.push(doc);
    snap.members++;
    if (group) snap.rfmGroups[group] = (snap.rfmGroups[group] ?? 0) + 1;
    snap.byJoinChannel[doc.channel] = (snap.byJoinChannel[doc.channel] ?? 0) + 1;
    for (const c of doc.channels) snap.usingChannel[c] = (snap.usingChannel[c] ?? 0) + 1;
    if (hasPass) snap.withPass++;
    for (const c of reachable) snap.reachable[c] = (snap.reachable[c] ?? 0) + 1;
    const lv = (snap.byLevel[doc.level] ??= { members: 0, spentKopecks: 0 });
    lv.members++;
    lv.spentKopecks += doc.spentKopecks;
    if (doc.joinMonth) {
      const co = (snap.byCohort[doc.joinMonth] ??= { members: 0, spentKopecks: 0 });
      co.members++;
      co.spentKopecks += doc.spentKopecks;
    }
    if (page.length >= PAGE) await flush();
  }
  await flush();
  await out.createIndexes([{ key: { rfmGroup: 1 } }, { key: { lastPurchaseAt: 1 } }, { key: { level: 1 } }]).catch(() => undefined);

  // 4. Switch, then drop builds older than the previous one (a reader may still be on it).
  const prev = await Snapshots.findById(SNAPSHOT_ID).lean();
  const keep = new Set([name, (prev?.data as { collection?: string } | undefined)?.collection ?? '']);
  await Snapshots.collection.replaceOne({ _id: SNAPSHOT_ID as never }, { at: now, data: snap }, { upsert: true });
  const db = deps.conn.db;
  if (db) {
    for (const c of await db.listCollections({}, { nameOnly: true }).toArray()) {
      if (c.name.startsWith('audience_') && !keep.has(c.name)) await db.dropCollection(c.name).catch(() => undefined);
    }
  }
  return snap;
}

/** The last build, or null before the first one. */
export async function currentAudience(conn: Connection): Promise<AudienceSnapshot | null> {
  const doc = await insightModels(conn).Snapshots.findById(SNAPSHOT_ID).lean();
  return doc ? (doc.data as unknown as AudienceSnapshot) : null;
}
