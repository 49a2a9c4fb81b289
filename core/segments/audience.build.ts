import { chatOpen, choseMarketing } from '../members/marketing-choice.js';
import { randomBytes } from 'node:crypto';
import { shopMonth } from '../insight/shop-time.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import type { AudienceDoc, AudienceSnapshot } from './audience.model.js';
import type { AudienceRepository } from './audience.repository.js';
import { quintileScorer, rfmGroup, RFM_GROUPS } from './rfm.score.js';

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
export async function buildAudience(deps: { repo: AudienceRepository; clock: Clock; timeZone: string; settings: ProgrammeSettings }): Promise<AudienceSnapshot> {
  const repo = deps.repo;
  const now = deps.clock.now();
  const run = `${now.getTime().toString(36)}${randomBytes(3).toString('hex')}`;

  // 1. RFM cuts over the members with purchases.
  const rec: number[] = [];
  const freq: number[] = [];
  const mon: number[] = [];
  for await (const s of repo.purchaserStats()) {
    rec.push(s.lastPurchaseAt ? new Date(s.lastPurchaseAt).getTime() : 0);
    freq.push(s.purchases);
    mon.push(s.spentKopecks);
  }
  const scoreR = quintileScorer(Float64Array.from(rec));
  const scoreF = quintileScorer(Float64Array.from(freq));
  const scoreM = quintileScorer(Float64Array.from(mon));

  // 2. What other collections know about members, one read each.
  const channels = new Map<string, Set<string>>();
  for await (const i of repo.identities()) {
    const ch = i._id.split(':')[0] ?? '';
    let set = channels.get(i.memberId);
    if (!set) channels.set(i.memberId, (set = new Set()));
    set.add(ch);
  }
  const installed = new Set<string>();
  for await (const serial of repo.registeredSerials()) installed.add(serial);
  const cardsWithPass = new Set<string>();
  for await (const p of repo.passes()) if (installed.has(p._id)) cardsWithPass.add(p.card);
  const contests = new Map<string, number>();
  for await (const memberId of repo.contestEntrants()) contests.set(memberId, (contests.get(memberId) ?? 0) + 1);
  const referrals = new Map<string, number>();
  for await (const referrerId of repo.referrers()) referrals.set(referrerId, (referrals.get(referrerId) ?? 0) + 1);

  // 3. The audience documents, and the tallies.
  const name = `audience_${run}`;
  const out = repo.build(name);
  const snap: AudienceSnapshot = {
    collection: name,
    run,
    at: now.toISOString(),
    members: 0,
    purchasers: rec.length,
    rfmGroups: Object.fromEntries(RFM_GROUPS.map((g) => [g, 0])),
    rfmGrid: {},
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
    await out.insert(page);
    page = [];
  };
  for await (const m of repo.activeMembers()) {
    const id = String(m._id);
    const s = m.stats;
    const purchases = s?.purchases ?? 0;
    const has = channels.get(id) ?? new Set<string>();
    const hasPass = m.cardNumber ? cardsWithPass.has(m.cardNumber) : false;
    // Who a broadcast would reach now: the broadcasts' own rule (marketing-choice.ts), so a segment's
    // `reachable` and a broadcast's recipients agree.
    const reachable = MARKETING_CHANNELS.filter((c) => choseMarketing(m, c) && (c === 'wallet' ? hasPass : has.has(c) && chatOpen(m, c)));
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
    // The panel's R × F grid: members per (recency, frequency) cell, counted as the pass goes.
    if (r && f && snap.rfmGrid) snap.rfmGrid[`${r}${f}`] = (snap.rfmGrid[`${r}${f}`] ?? 0) + 1;
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
  await out.index();

  // 4. Switch, then drop builds older than the previous one (a reader may still be on it).
  const prev = await repo.current();
  const keep = new Set([name, prev?.collection ?? '']);
  await repo.publish(now, snap);
  await repo.dropBuildsExcept(keep);
  return snap;
}
