import { randomBytes } from 'node:crypto';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import type { PartnerDoc } from './partner.model.js';
import type { PartnerRepository } from './partner.repository.js';
import { partnerInputSchema } from './partner.schema.js';
import type { PartnerTerms } from './partner.terms.js';

export interface PartnerView extends PartnerTerms {
  createdAt: Date;
  updatedAt: Date;
}

export interface PartnerDeps {
  repo: PartnerRepository;
  settings: () => Promise<ProgrammeSettings>;
  /** How many stores belong to a partner (a partner with stores is not deleted). */
  storesOf: (partnerId: string) => Promise<number>;
  /** Told after every change: members see partners on their passes, which then need a refresh. */
  changed?: () => Promise<unknown>;
  clock?: Clock;
  /** How long the partner list read by purchases stays cached in a process (ms). */
  cacheMs?: number;
}

interface PartnerCache {
  at: number;
  byId: Map<string, PartnerView>;
  list: PartnerView[];
}

const PARTNER_ID = /^[0-9a-f]{24}$/;

function view(d: PartnerDoc): PartnerView {
  return { id: d._id, name: d.name, percentBp: d.percentBp ?? null, levelPercentBp: { ...(d.levelPercentBp ?? {}) }, redeemCapBp: d.redeemCapBp ?? null, createdAt: d.createdAt, updatedAt: d.updatedAt };
}

/**
 * Partners and their terms. Purchases read the terms on every receipt, so the list is kept
 * in memory for `cacheMs` (one small read per period, no extra command per purchase); a
 * change in this process replaces it at once, other processes see it within `cacheMs`.
 */
export function createPartnerService(deps: PartnerDeps) {
  const clock = deps.clock ?? systemClock;
  const cacheMs = deps.cacheMs ?? 5000;
  let cached: PartnerCache | null = null;
  let loading: Promise<PartnerCache> | null = null;

  async function load(): Promise<PartnerCache> {
    loading ??= (async () => {
      try {
        const list = (await deps.repo.list()).map(view);
        cached = { at: clock.now().getTime(), byId: new Map(list.map((p) => [p.id, p])), list };
        return cached;
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  async function fresh(): Promise<PartnerCache> {
    return cached && clock.now().getTime() - cached.at < cacheMs ? cached : load();
  }

  async function parse(input: unknown): Promise<Omit<PartnerDoc, '_id' | 'createdAt' | 'updatedAt'>> {
    const r = partnerInputSchema.safeParse(input);
    if (!r.success) {
      const problems = r.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
      throw new DomainError('validation_failed', `Invalid partner: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { problems });
    }
    const settings = await deps.settings();
    const known = new Set([...settings.levels.map((l) => l.id), ...settings.manualLevels.map((l) => l.id)]);
    for (const id of Object.keys(r.data.levelPercentBp ?? {})) {
      if (!known.has(id)) throw new DomainError('validation_failed', `levelPercentBp names an unknown level '${id}'`, { field: `levelPercentBp.${id}` });
    }
    return { name: r.data.name, percentBp: r.data.percentBp ?? null, levelPercentBp: r.data.levelPercentBp ?? {}, redeemCapBp: r.data.redeemCapBp ?? null };
  }

  async function afterChange(): Promise<void> {
    cached = null;
    await deps.changed?.();
  }

  async function get(id: string): Promise<PartnerView> {
    const d = PARTNER_ID.test(id) ? await deps.repo.byId(id) : null;
    if (!d) throw new DomainError('partner_not_found', 'no such partner');
    return view(d);
  }

  return {
    init: (): Promise<void> => deps.repo.init(),

    async create(input: unknown): Promise<PartnerView> {
      const terms = await parse(input);
      const now = clock.now();
      const doc: PartnerDoc = { _id: randomBytes(12).toString('hex'), ...terms, createdAt: now, updatedAt: now };
      await deps.repo.insert(doc);
      await afterChange();
      return view(doc);
    },

    /** Every partner, by name (read from the database: the admin sees changes of other processes at once). */
    async list(): Promise<PartnerView[]> {
      return (await deps.repo.list()).map(view);
    },

    get,

    /** Replaces the partner's terms whole (a term left out falls back to the programme's). */
    async update(id: string, input: unknown): Promise<PartnerView> {
      await get(id);
      const terms = await parse(input);
      const d = await deps.repo.replace(id, { ...terms, updatedAt: clock.now() });
      if (!d) throw new DomainError('partner_not_found', 'no such partner');
      await afterChange();
      return view(d);
    },

    /** Deletes a partner that no store belongs to (else partner_in_use: move or delete its stores first). */
    async remove(id: string): Promise<void> {
      await get(id);
      const stores = await deps.storesOf(id);
      if (stores > 0) throw new DomainError('partner_in_use', `${stores} store(s) belong to this partner`, { stores });
      if (!(await deps.repo.remove(id))) throw new DomainError('partner_not_found', 'no such partner');
      await afterChange();
    },

    /** Whether a partner exists (a store about to be given to it). */
    async exists(id: string): Promise<boolean> {
      return PARTNER_ID.test(id) && (await deps.repo.byId(id)) !== null;
    },

    /** The terms of a store's partner for a purchase, from the cache; null for a store without one. */
    async terms(partnerId: string | null | undefined): Promise<PartnerTerms | null> {
      if (!partnerId) return null;
      const c = await fresh();
      // A partner made in another process a moment ago: read again rather than run the wrong terms.
      return c.byId.get(partnerId) ?? (await load()).byId.get(partnerId) ?? null;
    },

    /** Every partner's terms, from the cache (the bot's "Where the card works", the pass's back). */
    async all(): Promise<PartnerTerms[]> {
      return (await fresh()).list;
    },
  };
}
export type PartnerService = ReturnType<typeof createPartnerService>;
