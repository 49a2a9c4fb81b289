import type { CardService } from '../cards/card.service.js';
import type { I18n } from '../i18n/i18n.js';
import type { MemberService } from '../members/member.service.js';
import { partnerLines } from '../partners/partner.text.js';
import type { PartnerTerms } from '../partners/partner.terms.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import type { PassCache } from './pass-cache.js';
import { renderSignInput } from './pass-files.js';
import { buildPassState, stateHash } from './pass-state.js';
import { hashToken, tokenMatches, type WalletTokens } from './wallet-tokens.js';
import { modelFor, type PassModel } from './wallet-models.js';
import type { TemplateStore } from './wallet-templates.js';
import type { PassDoc, WalletModels } from './wallet.model.js';
import type { PassGenerator } from './wallet.types.js';

export interface PassIdentity {
  passTypeId: string;
  teamId: string;
  organizationName: string;
  webServiceURL: string;
}

export interface PassStoreDeps {
  models: WalletModels;
  cards: CardService;
  members: Pick<MemberService, 'byId'>;
  settings: () => Promise<ProgrammeSettings>;
  partners: () => Promise<PartnerTerms[]>;
  templates: TemplateStore;
  tokens: WalletTokens;
  passModels: Map<string, PassModel>;
  i18n: I18n;
  clock: Clock;
  identity: PassIdentity;
  cache: PassCache;
  /** Absent in a process that never signs (then `file` throws). */
  generator?: PassGenerator | undefined;
}

const SECOND = 1000;

/**
 * Pass documents: creating one per card, keeping its state current, and producing its signed
 * bytes. `refresh` recomputes the state from the card, member, settings and template; a new
 * state gets a new `updatedAt` (whole seconds, strictly later than the last one).
 */
export function createPassStore(deps: PassStoreDeps) {
  const { Passes } = deps.models;
  const signing = new Map<string, Promise<Buffer>>();

  async function compute(doc: PassDoc) {
    const card = await deps.cards.byNumber(doc.card);
    if (!card) throw new DomainError('card_not_found', `card ${doc.card} not found`);
    const settings = await deps.settings();
    const view = deps.cards.view(card, settings);
    const member = card.memberId ? await deps.members.byId(card.memberId) : null;
    const templateId = view.level.id;
    const model = modelFor(deps.passModels, templateId);
    const design = await deps.templates.designFor(templateId);
    const state = buildPassState({
      serial: doc._id,
      cardNumber: card._id,
      balance: view.balance,
      level: { id: view.level.id, name: view.level.name },
      memberName: member && member.status !== 'erased' ? member.name : '',
      closed: member?.status === 'erased',
      rulesUrl: settings.rulesUrl,
      offer: doc.offer,
      // The terms at this member's level: a level change changes them too.
      partners: partnerLines(settings, view.level, await deps.partners()),
      model,
      design,
      identity: deps.identity,
      tokenHash: doc.tokenHash,
      i18n: deps.i18n,
    });
    return { state, hash: stateHash(state), templateId, design, model };
  }

  async function current(serial: string): Promise<PassDoc | null> {
    return Passes.findById(serial).lean<PassDoc>();
  }

  /** Brings the stored state up to date; `changed` when it differs from what was stored. */
  async function refresh(serial: string): Promise<{ doc: PassDoc; changed: boolean }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const doc = await current(serial);
      if (!doc) throw new DomainError('not_found', `no wallet pass ${serial}`);
      const { state, hash, templateId } = await compute(doc);
      if (hash === doc.stateHash) return { doc, changed: false };
      const now = Math.floor(deps.clock.now().getTime() / SECOND) * SECOND;
      const updatedAt = new Date(Math.max(now, new Date(doc.updatedAt).getTime() + SECOND));
      // Guarded by the state we started from: a concurrent refresh makes us read again.
      const r = await Passes.updateOne({ _id: serial, stateHash: doc.stateHash }, { $set: { state, stateHash: hash, templateId, updatedAt } });
      if (r.modifiedCount === 1) return { doc: { ...doc, state, stateHash: hash, templateId, updatedAt }, changed: true };
    }
    throw new DomainError('concurrent_update', `pass ${serial} keeps changing`);
  }

  /** The pass of a card, created on first use (a random token salt), with a current state. */
  async function ensure(cardNumber: string): Promise<PassDoc> {
    if (!(await Passes.exists({ _id: cardNumber }))) {
      const salt = deps.tokens.newSalt();
      const now = deps.clock.now();
      const doc: PassDoc = {
        _id: cardNumber,
        card: cardNumber,
        templateId: 'default',
        tokenSalt: salt,
        tokenHash: hashToken(deps.tokens.authToken(cardNumber, salt)),
        state: null,
        stateHash: null,
        updatedAt: new Date(0),
        offer: null,
        dirty: false,
        dirtyAt: null,
        createdAt: now,
      };
      try {
        await insertRaw(Passes, doc);
      } catch (err) {
        // Two first downloads at once: the other one created it, with its salt.
        if (!isDuplicateKey(err)) throw err;
      }
    }
    return (await refresh(cardNumber)).doc;
  }

  /** The signed pass for a stored state: from the cache, else signed once (concurrent asks share the signing). */
  async function file(doc: PassDoc): Promise<Buffer> {
    const gen = deps.generator;
    if (!gen) throw new Error('this process has no pass generator');
    if (!doc.stateHash || !doc.state) throw new Error(`pass ${doc._id} has no state yet`);
    const hash = doc.stateHash;
    const state = doc.state;
    // The cache look-up is inside the shared promise: a caller that missed the cache just before
    // another's signing finished would otherwise find no signing under way and sign again.
    let pending = signing.get(hash);
    if (!pending) {
      pending = (async () => {
        const cached = await deps.cache.get(doc._id, hash);
        if (cached) return cached;
        const design = await deps.templates.designFor(doc.templateId);
        const logo = design.logoPng ? Buffer.from(design.logoPng, 'base64') : null;
        // The strip the state names (content-addressed): the one its hash was computed with.
        const strip = state.strip ? await deps.templates.stripFiles(state.strip) : null;
        const token = deps.tokens.authToken(doc._id, doc.tokenSalt);
        const bytes = await gen.generate(renderSignInput(state, modelFor(deps.passModels, state.model), token, logo, strip));
        await deps.cache.put(doc._id, hash, bytes);
        return bytes;
      })().finally(() => signing.delete(hash));
      signing.set(hash, pending);
    }
    return pending;
  }

  return {
    ensure,
    refresh,
    current,
    file,
    async exists(serial: string): Promise<boolean> {
      return (await Passes.exists({ _id: serial })) !== null;
    },
    /** The pass when `token` is its authentication token (checked against the stored hash), else null. */
    async authenticate(serial: string, token: string): Promise<PassDoc | null> {
      const doc = await current(serial);
      return doc && tokenMatches(token, doc.tokenHash) ? doc : null;
    },
    /** Marks passes for the worker's refresh and push (bulk changes, and changes no domain event reports). */
    async markDirty(serials: string[]): Promise<number> {
      const now = deps.clock.now();
      return (await Passes.updateMany({ _id: { $in: serials } }, { $set: { dirty: true, dirtyAt: now } })).matchedCount;
    },
    /** Up to `limit` passes marked by bulk changes, oldest mark first. */
    async takeDirty(limit: number): Promise<{ serial: string; dirtyAt: Date }[]> {
      const docs = await Passes.find({ dirty: true }, { _id: 1, dirtyAt: 1 }).sort({ dirtyAt: 1 }).limit(limit).lean<{ _id: string; dirtyAt: Date }[]>();
      return docs.map((d) => ({ serial: d._id, dirtyAt: d.dirtyAt }));
    },
    /** Clears marks seen by takeDirty; a pass marked again since keeps its mark. */
    async clearDirty(items: { serial: string; dirtyAt: Date }[]): Promise<void> {
      if (items.length === 0) return;
      await Passes.bulkWrite(items.map((i) => ({ updateOne: { filter: { _id: i.serial, dirtyAt: i.dirtyAt }, update: { $set: { dirty: false } } } })));
    },
  };
}
