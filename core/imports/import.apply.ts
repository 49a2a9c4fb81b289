import { randomBytes } from 'node:crypto';
import { generateCardNumber } from '../cards/card-number.js';
import type { CardService } from '../cards/card.service.js';
import type { MemberStatsMirror } from '../insight/member-stats.mirror.js';
import type { Ledger } from '../ledger/ledger.service.js';
import { newMemberId, type CardAliasDoc, type MemberDoc } from '../members/member.model.js';
import { levelFor } from '../programme/rules.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import type { ImportApplyRepository } from './import-apply.repository.js';
import { issueCardsWithCounters, openingCard, writeImportedCounters, type CountedCard, type ImportedCounters } from './import.counters.js';
import type { ImportMarkDoc, RowOutcome } from './import.model.js';
import { rowHash, type ImportRow, type RowError, type RowReason } from './import.row.js';

/** What the database already holds for a batch of rows, read by key (cheap on every server) before any write. */
export interface Prefetched {
  marks: Map<string, ImportMarkDoc>;
  members: Map<string, MemberDoc>;
  cards: Map<string, CountedCard>;
  aliases: Map<string, CardAliasDoc>;
}

export interface ApplyContext {
  importId: string;
  dryRun: boolean;
  settings: ProgrammeSettings;
}

const REFERRAL_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const referralCode = (): string => [...randomBytes(8)].map((b) => REFERRAL_ALPHABET[b % REFERRAL_ALPHABET.length]).join('');
/** Rows of a batch completed at a time (a few writes each, on different members). */
const PARALLEL = 8;

/** A staged row: its file row number and its normalized values. */
export interface BatchItem {
  row: number;
  data: ImportRow;
}

const ZERO_COUNTERS: ImportedCounters = { purchases: 0, spentKopecks: 0, lastPurchaseAt: null };

/**
 * Loads one valid row into the programme, or says why it cannot, before writing anything.
 *
 * A row becomes: a member (created without a welcome bonus: imported customers are not new),
 * their card, the old plastic number as an alias of it, the opening balance as ONE ledger
 * entry, the imported counters on the card, a level, and the phone's import mark. The checks
 * that can refuse a row (card number taken, balance lowered below what is left) run first;
 * each write is idempotent and the mark (with the row's fingerprint) is written last, so a
 * crash half-way is finished by running the import again, and a refused row writes nothing.
 *
 * New rows are inserts only where the data is ours: on FerretDB v1 every update scans its
 * whole collection, so a 100,000-row base must not cost an update per row where an insert does.
 */
/** The phone registry as the import needs it (core/members: who holds a number, and proving it for the shop). */
export interface ImportPhones {
  phoneHolder(e164: string): Promise<{ reg: { proved: boolean; memberId: string } } | null>;
  claimImportedPhone(e164: string, memberId: string): Promise<{ displaced: boolean }>;
}

export function createRowApplier(deps: { repo: ImportApplyRepository; ledger: Ledger; cards: CardService; mirror: MemberStatsMirror; phones: ImportPhones; clock: Clock }) {
  const repo = deps.repo;
  const cardById = (n: string): Promise<CountedCard | null> => repo.card(n);

  async function prefetch(rows: ImportRow[], dryRun: boolean): Promise<Prefetched> {
    const pre: Prefetched = { marks: new Map(), members: new Map(), cards: new Map(), aliases: new Map() };
    await Promise.all(
      rows.map(async (r) => {
        const mark = await repo.mark(r.phone);
        if (mark) pre.marks.set(r.phone, mark);
        // The same row as last time: nothing more to read (or write).
        if (mark?.hash === rowHash(r)) return;
        if (mark) {
          const m = await repo.member(mark.memberId);
          if (m) pre.members.set(r.phone, m);
        }
        if (r.card) {
          const [asCard, alias] = await Promise.all([cardById(r.card), repo.alias(r.card)]);
          if (asCard) pre.cards.set(r.card, asCard);
          if (alias) pre.aliases.set(r.card, alias);
        }
      }),
    );
    // Phones without a mark may still be members (joined through a bot). A real run learns it
    // from the unique phone index when it inserts; a dry run must ask (one query per batch).
    const unknown = rows.filter((r) => !pre.members.has(r.phone) && pre.marks.get(r.phone)?.hash !== rowHash(r)).map((r) => r.phone);
    if (dryRun && unknown.length) for (const m of await repo.membersByPhone(unknown)) pre.members.set(m.phone, m);
    await Promise.all(
      [...pre.members.values()].map(async (m) => {
        const c = m.cardNumber ? await cardById(m.cardNumber) : null;
        if (c) pre.cards.set(c._id, c);
      }),
    );
    return pre;
  }

  /** The refusal of a row, if any, judged on what the database holds now. */
  function check(row: ImportRow, member: MemberDoc | undefined, mark: ImportMarkDoc | undefined, pre: Prefetched): { column: string; reason: RowReason } | null {
    if (member && member.status !== 'active') return { column: 'phone', reason: 'member_inactive' };
    if (row.card) {
      const asCard = pre.cards.get(row.card);
      if (asCard && asCard._id !== member?.cardNumber) return { column: 'card', reason: 'card_taken' };
      const alias = pre.aliases.get(row.card);
      if (alias?.card && alias.card !== member?.cardNumber) return { column: 'card', reason: 'card_taken' };
    }
    if (row.balance !== null) {
      const delta = row.balance - (mark?.balance ?? 0);
      const card = member?.cardNumber ? pre.cards.get(member.cardNumber) : undefined;
      if (delta < 0 && (card?.balance ?? 0) < -delta) return { column: 'balance', reason: 'insufficient_points' };
    }
    return null;
  }

  /** The opening balance as one ledger entry per change, keyed by phone and the count of import entries. */
  async function setBalance(member: MemberDoc, mark: ImportMarkDoc | undefined, card: string, target: number, importId: string): Promise<{ balance: number; seq: number }> {
    let prev = mark?.balance ?? 0;
    let seq = mark?.balanceSeq ?? 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      const delta = target - prev;
      if (delta === 0) return { balance: prev, seq };
      const key = `import:${member.phone}:${seq + 1}`;
      try {
        await deps.ledger.apply({
          key,
          card,
          type: 'import',
          effect: delta > 0 ? 'credit' : 'debit',
          points: Math.abs(delta),
          ref: { reason: `import:${importId}`, author: 'import', memberId: String(member._id) },
        });
        return { balance: target, seq: seq + 1 };
      } catch (err) {
        if (!(err instanceof DomainError && err.code === 'idempotency_conflict')) throw err;
        // A run that crashed after this entry, with other figures: count it, then correct the rest.
        const entry = await deps.ledger.findByKey(key);
        prev += entry?.result?.amount ?? 0;
        seq += 1;
      }
    }
    throw new DomainError('concurrent_update', `balance of ${member.phone} could not be set`);
  }

  async function setLevel(card: CountedCard, levelId: string, settings: ProgrammeSettings): Promise<boolean> {
    if (card.manualLevelId === levelId) return false;
    const manual = settings.manualLevels.some((l) => l.id === levelId);
    const rank = (id: string): number => settings.levels.findIndex((l) => l.id === id);
    // A staff-like level is pinned; a spend level only when above what the spend gives (never pin a member down).
    const reached = levelFor(settings, card.spentKopecks, card.manualLevelId).id;
    if (!manual && rank(levelId) <= rank(reached)) return false;
    await deps.ledger.setLevel({ card: card._id, levelId, author: 'import' });
    return true;
  }

  async function linkAlias(old: string, cardNumber: string, pre: Prefetched): Promise<boolean> {
    const alias = pre.aliases.get(old);
    if (alias?.card === cardNumber) return true;
    const now = deps.clock.now();
    if (!alias && (await repo.insertAlias({ _id: old, card: cardNumber, importedAt: now, linkedAt: now }))) return true;
    // A plastic card imported before (cards/import) and not linked yet.
    return (await repo.linkFreeAlias(old, cardNumber, now)) || (await repo.alias(old))?.card === cardNumber;
  }

  function memberDoc(row: ImportRow, ctx: ApplyContext): MemberDoc {
    const now = deps.clock.now();
    return {
      _id: newMemberId(),
      phone: row.phone,
      name: row.name,
      language: 'ru',
      consent: { at: row.consentAt ?? now, version: 'import' },
      status: 'active',
      // The number is reserved on the member first: a crash before the card exists is finished by a re-run.
      cardNumber: generateCardNumber(ctx.settings.cardPrefixes.channels.admin, ctx.settings.cardRandomDigits),
      referralCode: referralCode(),
      referrerId: null,
      joinedVia: 'admin',
      storeId: null,
      optIn: Object.fromEntries((row.optIns ?? []).map((c) => [c, true])),
      notifications: true,
      roles: [],
      birthday: null,
      // The customer joined the old programme when they consented; without a date, now.
      registeredAt: row.consentAt ?? now,
      erasedAt: null,
      createdAt: now,
      updatedAt: now,
      imported: { importId: ctx.importId, createdByImport: true, at: now },
      // The counters copy as the import leaves them (seq 0: any movement of the card is newer).
      stats: {
        seq: 0,
        purchases: row.purchases ?? 0,
        spentKopecks: row.spentKopecks ?? 0,
        lastPurchaseAt: row.lastPurchaseAt,
        earned: 0,
        redeemed: 0,
        expired: 0,
        balance: row.balance ?? 0,
        levelId: levelFor(ctx.settings, row.spentKopecks ?? 0, null).id,
      },
    };
  }

  /** The rest of a row once its member exists: card, alias, balance, counters, level. */
  async function complete(item: BatchItem, member: MemberDoc, created: boolean, pre: Prefetched, ctx: ApplyContext): Promise<ImportMarkDoc | { column: string; reason: RowReason }> {
    const { data: row } = item;
    const mark = pre.marks.get(row.phone);
    const memberId = String(member._id);
    if (!created && member.imported?.createdByImport) {
      // A member the import created follows the corrected file; one who joined by themselves keeps what they set.
      await repo.followFile(member._id, {
        name: row.name,
        ...(row.consentAt ? { consentAt: row.consentAt, registeredAt: row.consentAt } : {}),
        ...(row.optIns ? { optIn: Object.fromEntries(row.optIns.map((c) => [c, true])) } : {}),
        updatedAt: deps.clock.now(),
      });
    }
    let cardNumber = member.cardNumber;
    if (!cardNumber) {
      cardNumber = generateCardNumber(ctx.settings.cardPrefixes.channels.admin, ctx.settings.cardRandomDigits);
      cardNumber = (await repo.reserveCardNumber(member._id, cardNumber)) ?? cardNumber;
    }
    let found = pre.cards.get(cardNumber) ?? (await cardById(cardNumber));
    if (found && found.memberId !== memberId) {
      // The reserved number was drawn twice (the batch's insertMany said so): draw another.
      const fresh = generateCardNumber(ctx.settings.cardPrefixes.channels.admin, ctx.settings.cardRandomDigits);
      await repo.replaceCardNumber(member._id, cardNumber, fresh);
      cardNumber = fresh;
      found = null;
    }
    const number = cardNumber;
    const hasCounters = row.purchases !== null || row.spentKopecks !== null || row.lastPurchaseAt !== null;
    // A member created in this batch got their card (with the counters) in the batch's insertMany.
    let card = found;
    card ??= await deps.cards.issue(memberId, ctx.settings.cardPrefixes.channels.admin, ctx.settings, number);
    if (row.card && !(await linkAlias(row.card, number, pre))) return { column: 'card', reason: 'card_taken' };
    let moved = false;
    let balance = { balance: mark?.balance ?? 0, seq: mark?.balanceSeq ?? 0 };
    if (row.balance !== null && row.balance !== balance.balance) {
      balance = await setBalance(member, mark, number, row.balance, ctx.importId);
      moved = true;
    }
    if (hasCounters && !created) {
      if (moved) card = (await cardById(number)) ?? card;
      const prev = card.importedCounters ?? ZERO_COUNTERS;
      const next = { purchases: row.purchases ?? prev.purchases, spentKopecks: row.spentKopecks ?? prev.spentKopecks, lastPurchaseAt: row.lastPurchaseAt ?? prev.lastPurchaseAt };
      const after = await writeImportedCounters({ ledger: deps.ledger, importId: ctx.importId }, number, next);
      moved ||= after.version !== card.version;
      card = after;
    }
    if (row.level && (await setLevel(card, row.level, ctx.settings))) moved = true;
    // A member created just now carries the import's figures already; others get the card's new snapshot.
    if (!created && moved) {
      const c = (await cardById(number)) ?? card;
      await deps.mirror.apply({
        memberId,
        seq: c.version,
        counters: { purchases: c.purchases ?? 0, spentKopecks: c.spentKopecks, lastPurchaseAt: c.lastPurchaseAt ?? null, earned: c.earnedTotal, redeemed: c.spentPointsTotal, expired: c.expiredTotal ?? 0 },
        balance: c.balance,
        levelId: c.levelId,
      });
    }
    if (!created && !member.imported) {
      await repo.setImported(member._id, { importId: ctx.importId, createdByImport: false, at: deps.clock.now() });
    }
    return { _id: row.phone, memberId, hash: rowHash(row), balance: balance.balance, balanceSeq: balance.seq, card: row.card ?? mark?.card ?? null, importId: ctx.importId, at: deps.clock.now() };
  }

  return {
    /**
     * Applies a batch of valid rows (distinct phones). Each row: judged first (refused rows
     * write nothing), then written; the marks go last, so a crash leaves rows to be redone,
     * never rows that look done but are not. New members go in with one insertMany.
     */
    async applyBatch(items: BatchItem[], ctx: ApplyContext): Promise<{ row: number; outcome: RowOutcome; error?: RowError }[]> {
      const pre = await prefetch(items.map((i) => i.data), ctx.dryRun);
      const results = new Map<number, { row: number; outcome: RowOutcome; error?: RowError }>();
      const fail = (item: BatchItem, r: { column: string; reason: RowReason }): void => {
        results.set(item.row, { row: item.row, outcome: 'failed', error: { row: item.row, ...r } });
      };
      const todo: { item: BatchItem; member: MemberDoc | undefined }[] = [];
      for (const item of items) {
        const mark = pre.marks.get(item.data.phone);
        const member = pre.members.get(item.data.phone);
        if (mark && mark.hash === rowHash(item.data)) {
          results.set(item.row, { row: item.row, outcome: 'unchanged' });
          continue;
        }
        const refused = check(item.data, member, mark, pre);
        if (refused) fail(item, refused);
        else if (ctx.dryRun) results.set(item.row, { row: item.row, outcome: member ? 'updated' : 'created' });
        else todo.push({ item, member });
      }
      const ordered = (): { row: number; outcome: RowOutcome; error?: RowError }[] =>
        items.map((i) => results.get(i.row) ?? { row: i.row, outcome: 'failed' as const });
      if (ctx.dryRun) return ordered();

      const fresh = todo.filter((t) => !t.member).map((t) => ({ t, doc: memberDoc(t.item.data, ctx) }));
      let taken = await repo.insertMembers(fresh.map((f) => f.doc));
      // A number held by someone who only typed it (a chat join without proof) is not theirs to
      // keep: the shop's base vouches for it, so the row's customer gets a member of their own and
      // the typist is displaced (phone registry, as a till enrolment does). Never the other way:
      // a typist must not receive the imported balance of the number's real owner.
      const displacedRows = new Set<number>();
      for (const [i, f] of fresh.entries()) {
        if (!taken.has(i)) continue;
        const holder = await deps.phones.phoneHolder(f.t.item.data.phone);
        if (holder && !holder.reg.proved && holder.reg.memberId !== String(f.doc._id)) {
          await deps.phones.claimImportedPhone(f.t.item.data.phone, String(f.doc._id));
          displacedRows.add(i);
        }
      }
      if (displacedRows.size > 0) {
        const again = await repo.insertMembers(fresh.filter((_, i) => displacedRows.has(i)).map((f) => f.doc));
        const order = [...displacedRows];
        taken = new Set([...taken].filter((i) => !displacedRows.has(i) || again.has(order.indexOf(i))));
      }
      // The numbers of the members just written are proved (the shop vouches), in the registry.
      for (const [i, f] of fresh.entries()) if (!taken.has(i)) await deps.phones.claimImportedPhone(f.t.item.data.phone, String(f.doc._id));
      const work: { item: BatchItem; member: MemberDoc; created: boolean }[] = todo.flatMap((t) => (t.member ? [{ item: t.item, member: t.member, created: false }] : []));
      const inserted = fresh.filter((_, i) => !taken.has(i));
      const cards = inserted.map((f) => ({
        number: f.doc.cardNumber ?? '',
        memberId: String(f.doc._id),
        counters: { purchases: f.t.item.data.purchases ?? 0, spentKopecks: f.t.item.data.spentKopecks ?? 0, lastPurchaseAt: f.t.item.data.lastPurchaseAt },
      }));
      const drawnTwice = await issueCardsWithCounters({ cards: repo, clock: deps.clock }, cards, ctx.settings);
      const now = deps.clock.now();
      for (const c of cards) {
        if (drawnTwice.has(c.number)) continue;
        // What was just inserted, so the row's remaining steps need not read it back.
        pre.cards.set(c.number, openingCard(c, ctx.settings, now));
      }
      for (const [i, f] of fresh.entries()) {
        if (!taken.has(i)) {
          work.push({ item: f.t.item, member: f.doc, created: true });
          continue;
        }
        // The phone is already a member who proved it (joined through a bot): judge the row against them first.
        const m = await repo.memberByPhone(f.t.item.data.phone);
        if (!m) throw new Error(`phone ${f.t.item.data.phone} collided but is not found`);
        const c = m.cardNumber ? await cardById(m.cardNumber) : null;
        if (c) pre.cards.set(c._id, c);
        const refused = check(f.t.item.data, m, pre.marks.get(f.t.item.data.phone), pre);
        if (refused) fail(f.t.item, refused);
        else work.push({ item: f.t.item, member: m, created: false });
      }

      const marks: ImportMarkDoc[] = [];
      for (let i = 0; i < work.length; i += PARALLEL) {
        await Promise.all(
          work.slice(i, i + PARALLEL).map(async (w) => {
            const r = await complete(w.item, w.member, w.created, pre, ctx);
            if ('reason' in r) fail(w.item, r);
            else {
              marks.push(r);
              results.set(w.item.row, { row: w.item.row, outcome: w.created ? 'created' : 'updated' });
            }
          }),
        );
      }
      const newMarks = marks.filter((m) => !pre.marks.has(m._id));
      const collided = await repo.insertMarks(newMarks);
      const replace = [...marks.filter((m) => pre.marks.has(m._id)), ...newMarks.filter((_, i) => collided.has(i))];
      for (const m of replace) await repo.replaceMark(m);
      return ordered();
    },
  };
}
