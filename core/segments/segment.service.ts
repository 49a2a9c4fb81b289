import { randomBytes } from 'node:crypto';
import { maskPhone } from '../members/phone.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { buildAudience } from './audience.build.js';
import type { AudienceDoc, AudienceSnapshot, SegmentDoc } from './audience.model.js';
import type { AudienceRepository } from './audience.repository.js';
import type { SegmentRepository } from './segment.repository.js';
import { compileRules, type RuleGroup } from './segment.rules.js';

export interface SegmentView {
  id: string;
  name: string;
  rules: RuleGroup;
  createdAt: string;
  updatedAt: string;
}

export interface SegmentMember {
  memberId: string;
  name: string;
  maskedPhone: string;
  cardNumber: string | null;
  level: string;
  purchases: number;
  spentKopecks: number;
  lastPurchaseAt: string | null;
  rfmGroup: string | null;
}

/** Everyone: the segment of a broadcast to all members, and the export without a segment. */
export const EVERYONE: RuleGroup = { op: 'and', rules: [{ field: 'purchases', op: 'gte', value: 0 }] };

const view = (s: SegmentDoc): SegmentView => ({ id: s._id, name: s.name, rules: s.rules as RuleGroup, createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString() });

/**
 * Saved segments over the audience collection: CRUD, live count, members page by page, and
 * `resolveSegment` for broadcasts (member ids page by page from one cursor, never all at once).
 * Counts reflect the last audience pass (nightly, after an import, or on demand: `rebuild`).
 */
export function createSegmentService(deps: {
  repo: SegmentRepository;
  audience: AudienceRepository;
  clock: Clock;
  timeZone: string;
  settings: () => Promise<ProgrammeSettings>;
}) {
  const saved = deps.repo;
  /** The current build (its snapshot names its collection), or null before the first pass. */
  const audience = (): Promise<AudienceSnapshot | null> => deps.audience.current();

  async function get(id: string): Promise<SegmentDoc> {
    const s = await saved.byId(id);
    if (!s) throw new DomainError('segment_not_found', 'no such segment');
    return s;
  }

  async function filterOf(segmentId: string | null): Promise<Record<string, unknown>> {
    return compileRules(segmentId ? (await get(segmentId)).rules : EVERYONE, deps.clock.now());
  }

  function checkName(name: string): string {
    const n = name.replace(/\s+/g, ' ').trim();
    if (n.length < 1 || n.length > 100) throw new DomainError('validation_failed', 'name must be 1–100 characters');
    return n;
  }

  return {
    init: (): Promise<void> => saved.init(),

    /** The audience pass: RFM and the segment collection, rebuilt (nightly, or on demand). */
    async rebuild(): Promise<AudienceSnapshot> {
      return buildAudience({ repo: deps.audience, clock: deps.clock, timeZone: deps.timeZone, settings: await deps.settings() });
    },

    snapshot: audience,

    async create(input: { name: string; rules: unknown }): Promise<SegmentView> {
      compileRules(input.rules, deps.clock.now());
      const now = deps.clock.now();
      const doc: SegmentDoc = { _id: randomBytes(12).toString('hex'), name: checkName(input.name), rules: input.rules, createdAt: now, updatedAt: now };
      await saved.insert(doc);
      return view(doc);
    },

    async list(): Promise<SegmentView[]> {
      return (await saved.list()).map(view);
    },

    get: async (id: string): Promise<SegmentView> => view(await get(id)),

    async update(id: string, input: { name: string; rules: unknown }): Promise<SegmentView> {
      compileRules(input.rules, deps.clock.now());
      const s = await saved.update(id, { name: checkName(input.name), rules: input.rules, updatedAt: deps.clock.now() });
      if (!s) throw new DomainError('segment_not_found', 'no such segment');
      return view(s);
    },

    async remove(id: string): Promise<void> {
      if (!(await saved.remove(id))) throw new DomainError('segment_not_found', 'no such segment');
    },

    /** How many members match rules (a saved segment's, or rules being edited), as of the last pass. */
    async count(rules: unknown): Promise<{ count: number; asOf: string | null }> {
      const filter = compileRules(rules, deps.clock.now());
      const a = await audience();
      return { count: a ? await deps.audience.count(a.collection, filter) : 0, asOf: a?.at ?? null };
    },

    async countSegment(segmentId: string): Promise<{ count: number; asOf: string | null }> {
      return this.count((await get(segmentId)).rules);
    },

    /** Members of a segment, a page at a time; `after` is the last member id of the previous page. */
    async members(segmentId: string, opts: { after?: string | undefined; limit: number }): Promise<{ items: SegmentMember[]; next: string | null }> {
      const filter = await filterOf(segmentId);
      const a = await audience();
      if (!a) return { items: [], next: null };
      // A malformed `after` is validation_failed (once there is a build to page through).
      const page = await deps.audience.page(a.collection, filter, opts);
      const people = new Map((await saved.contacts(page.map((p) => p._id))).map((m) => [String(m._id), m]));
      const items = page.flatMap((p) => {
        const m = people.get(String(p._id));
        // Erased since the last pass: not shown.
        if (!m || m.status === 'erased') return [];
        return [
          {
            memberId: String(p._id),
            name: m.name,
            maskedPhone: maskPhone(m.phone),
            cardNumber: m.cardNumber,
            level: p.level,
            purchases: p.purchases,
            spentKopecks: p.spentKopecks,
            lastPurchaseAt: p.lastPurchaseAt ? new Date(p.lastPurchaseAt).toISOString() : null,
            rfmGroup: p.rfmGroup,
          },
        ];
      });
      return { items, next: page.length === opts.limit ? String(page[page.length - 1]?._id) : null };
    },

    /**
     * A broadcast audience `{kind: 'segment', segmentId}`: member ids, `pageSize` at a time,
     * from one cursor (one scan on every server), never the whole list in memory.
     */
    async *resolveSegment(segmentId: string | null, pageSize = 1000): AsyncGenerator<string[]> {
      const filter = await filterOf(segmentId);
      const a = await audience();
      if (!a) return;
      let page: string[] = [];
      for await (const id of deps.audience.ids(a.collection, filter, pageSize)) {
        page.push(id);
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length) yield page;
    },

    /** The audience documents of a segment in member-id order (exports join them with the members). */
    async *audienceOf(segmentId: string | null): AsyncGenerator<AudienceDoc> {
      const filter = await filterOf(segmentId);
      const a = await audience();
      if (!a) return;
      yield* deps.audience.docs(a.collection, filter);
    },
  };
}
export type SegmentService = ReturnType<typeof createSegmentService>;
