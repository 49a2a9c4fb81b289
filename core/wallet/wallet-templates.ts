import { createHash } from 'node:crypto';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import { logoProblem, STRIP_SIZES, stripImages, type StripFiles } from './pass-image.js';
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
 * wallet worker refreshes and pushes them at WALLET_PUSH_RATE. Strip images are stored apart
 * (wallet_images, by content hash) and named by the design.
 */
export function createTemplateStore(deps: { models: WalletModels; settings: () => Promise<ProgrammeSettings>; clock: Clock }) {
  const { Templates, Passes, Images } = deps.models;
  // Strip images never change under their id, so a copy kept here is never stale; a few suffice.
  const strips = new Map<string, StripFiles>();
  const remember = (id: string, files: StripFiles): void => {
    const oldest = strips.keys().next();
    if (strips.size >= 8 && !oldest.done) strips.delete(oldest.value);
    strips.set(id, files);
  };

  async function checkId(id: string): Promise<void> {
    if (id === DEFAULT_TEMPLATE) return;
    const s = await deps.settings();
    if (![...s.levels, ...s.manualLevels].some((l) => l.id === id)) {
      throw new DomainError('validation_failed', `no level "${id}": a template is "${DEFAULT_TEMPLATE}" or a level id`);
    }
  }

  async function get(id: string): Promise<TemplateView> {
    await checkId(id);
    const doc = await Templates.findById(id).lean();
    return { id, design: doc?.design ?? {}, version: doc?.version ?? 0, updatedAt: doc?.updatedAt ?? null };
  }

  /** Resizes an uploaded PNG or JPEG to the strip's three sizes and stores them; their id (sha256) goes in a design's `strip`. */
  async function storeStrip(upload: Uint8Array): Promise<string> {
    const files = await stripImages(upload);
    const hash = createHash('sha256');
    for (const s of STRIP_SIZES) hash.update(files[s.file]);
    const id = hash.digest('hex');
    try {
      await insertRaw(Images, { _id: id, x1: files['strip.png'], x2: files['strip@2x.png'], x3: files['strip@3x.png'], createdAt: deps.clock.now() });
    } catch (err) {
      // The same picture uploaded again: it is already there.
      if (!isDuplicateKey(err)) throw err;
    }
    remember(id, files);
    return id;
  }

  /** Replaces a template's design (validated), and marks every pass drawn from it for a refresh and a push. */
  async function put(id: string, input: unknown): Promise<TemplateView & { passes: number }> {
    await checkId(id);
    const parsed = templateDesignSchema.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
      throw new DomainError('validation_failed', `Invalid template: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { problems });
    }
    const design = parsed.data;
    const problem = design.logoPng ? logoProblem(Buffer.from(design.logoPng, 'base64')) : null;
    if (problem) throw new DomainError('validation_failed', problem, { field: 'logoPng' });
    if (design.strip && !(await Images.exists({ _id: design.strip }))) {
      throw new DomainError('validation_failed', `no strip image ${design.strip}: upload one with PUT …/templates/{id}/strip`, { field: 'strip' });
    }
    const now = deps.clock.now();
    const doc = await Templates.findOneAndUpdate(
      { _id: id },
      { $set: { design, updatedAt: now }, $inc: { version: 1 } },
      { upsert: true, returnDocument: 'after' },
    ).lean();
    const filter = id === DEFAULT_TEMPLATE ? {} : { templateId: id };
    const r = await Passes.updateMany(filter, { $set: { dirty: true, dirtyAt: now } });
    return { id, design, version: doc?.version ?? 1, updatedAt: now, passes: r.modifiedCount };
  }

  return {
    get,
    put,
    storeStrip,

    /** The strip PNGs by file name (strip.png, strip@2x.png, strip@3x.png), or null when no such image is stored. */
    async stripFiles(stripId: string): Promise<StripFiles | null> {
      const known = strips.get(stripId);
      if (known) return known;
      // Not lean: mongoose casts the binary fields back to Buffers.
      const doc = await Images.findById(stripId);
      if (!doc) return null;
      const files: StripFiles = { 'strip.png': Buffer.from(doc.x1), 'strip@2x.png': Buffer.from(doc.x2), 'strip@3x.png': Buffer.from(doc.x3) };
      remember(stripId, files);
      return files;
    },

    /** Uploads a strip image for a template and publishes the design with it (every pass of the template is updated). */
    async setStrip(id: string, upload: Uint8Array): Promise<TemplateView & { passes: number }> {
      const current = await get(id);
      const strip = await storeStrip(upload);
      return put(id, { ...current.design, strip });
    },

    /** Takes the template's own strip away (a level then shows the default template's, if that has one); no strip: nothing changes. */
    async removeStrip(id: string): Promise<TemplateView & { passes: number }> {
      const current = await get(id);
      if (!current.design.strip) return { ...current, passes: 0 };
      const design = { ...current.design };
      delete design.strip;
      return put(id, design);
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
  };
}
export type TemplateStore = ReturnType<typeof createTemplateStore>;
