import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { logoProblem } from './pass-image.js';
import { mergeDesigns } from './pass-state.js';
import { DEFAULT_TEMPLATE } from './wallet-models.js';
import type { WalletModels } from './wallet.model.js';
import { templateDesignSchema, type TemplateDesign } from './wallet.types.js';

export interface TemplateView {
  id: string;
  design: TemplateDesign;
  version: number;
  updatedAt: Date | null;
}

/**
 * Pass templates: one per level (its id is the level id) plus `default`, whose design every
 * level inherits (contacts and store locations usually live there). A template is its model
 * folder (wallet-models/<id>.pass, else default.pass) with the admin's design over it.
 * Changing one re-skins every pass drawn from it: those passes are marked dirty and the
 * wallet worker refreshes and pushes them at WALLET_PUSH_RATE.
 */
export function createTemplateStore(deps: { models: WalletModels; settings: () => Promise<ProgrammeSettings>; clock: Clock }) {
  const { Templates, Passes } = deps.models;

  async function checkId(id: string): Promise<void> {
    if (id === DEFAULT_TEMPLATE) return;
    const s = await deps.settings();
    if (![...s.levels, ...s.manualLevels].some((l) => l.id === id)) {
      throw new DomainError('validation_failed', `no level "${id}": a template is "${DEFAULT_TEMPLATE}" or a level id`);
    }
  }

  return {
    async get(id: string): Promise<TemplateView> {
      await checkId(id);
      const doc = await Templates.findById(id).lean();
      return { id, design: doc?.design ?? {}, version: doc?.version ?? 0, updatedAt: doc?.updatedAt ?? null };
    },

    async list(): Promise<TemplateView[]> {
      const docs = await Templates.find().sort({ _id: 1 }).lean();
      return docs.map((d) => ({ id: d._id, design: d.design, version: d.version, updatedAt: d.updatedAt }));
    },

    /** The design a pass of `templateId` is drawn with: default's, then the level's own over it. */
    async designFor(templateId: string): Promise<TemplateDesign> {
      const docs = await Templates.find({ _id: { $in: [DEFAULT_TEMPLATE, templateId] } }).lean();
      const byId = new Map(docs.map((d) => [d._id, d.design]));
      return mergeDesigns(byId.get(DEFAULT_TEMPLATE) ?? {}, templateId === DEFAULT_TEMPLATE ? {} : (byId.get(templateId) ?? {}));
    },

    /** Replaces a template's design (validated), and marks every pass drawn from it for a refresh and a push. */
    async put(id: string, input: unknown): Promise<TemplateView & { passes: number }> {
      await checkId(id);
      const parsed = templateDesignSchema.safeParse(input);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
        throw new DomainError('validation_failed', `Invalid template: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { problems });
      }
      const design = parsed.data;
      const problem = design.logoPng ? logoProblem(Buffer.from(design.logoPng, 'base64')) : null;
      if (problem) throw new DomainError('validation_failed', problem, { field: 'logoPng' });
      const now = deps.clock.now();
      const doc = await Templates.findOneAndUpdate(
        { _id: id },
        { $set: { design, updatedAt: now }, $inc: { version: 1 } },
        { upsert: true, returnDocument: 'after' },
      ).lean();
      const filter = id === DEFAULT_TEMPLATE ? {} : { templateId: id };
      const r = await Passes.updateMany(filter, { $set: { dirty: true, dirtyAt: now } });
      return { id, design, version: doc?.version ?? 1, updatedAt: now, passes: r.modifiedCount };
    },
  };
}
export type TemplateStore = ReturnType<typeof createTemplateStore>;
