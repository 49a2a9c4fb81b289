import type { CardService } from '../cards/card.service.js';
import type { I18n } from '../i18n/i18n.js';
import type { MemberService } from '../members/member.service.js';
import type { PartnerTerms } from '../partners/partner.terms.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { createPassCache } from './pass-cache.js';
import { createOfferService } from './wallet-offers.js';
import { createPassStore } from './wallet-passes.js';
import { createRegistry } from './wallet-registry.js';
import { createTemplateStore } from './wallet-templates.js';
import { createWalletTokens } from './wallet-tokens.js';
import { loadModels, type PassModel } from './wallet-models.js';
import type { WalletModels } from './wallet.model.js';
import type { CardModel } from '../cards/card.model.js';
import { WALLET_WEB_SERVICE_PATH, type OfferTarget, type PassGenerator } from './wallet.types.js';

export interface WalletDeps {
  models: WalletModels;
  /** The cards collection, for offers addressed to a level or to everyone. */
  Cards: CardModel;
  cards: CardService;
  members: Pick<MemberService, 'byId'>;
  settings: () => Promise<ProgrammeSettings>;
  /** The programme's partners (cached by core/partners), listed on the back of every pass. */
  partners: () => Promise<PartnerTerms[]>;
  i18n: I18n;
  /** From loadWalletSigner: the ids the certificate was checked against. */
  passTypeId: string;
  teamId: string;
  organizationName: string;
  /** PUBLIC_URL: links and webServiceURL hang off it. */
  publicUrl: string;
  linkSecret: string;
  generator?: PassGenerator | undefined;
  passModels?: Map<string, PassModel>;
  clock?: Clock;
}

export const PKPASS_TYPE = 'application/vnd.apple.pkpass';

/**
 * The Apple Wallet bridge of the domain: passes (state, signed bytes, cache), the devices
 * registered for them, templates and offers, and the distribution links. Adapters call it:
 * the web service and admin API (api/), the bot's "My card" (bots/), the push worker (workers/).
 */
export function createWallet(deps: WalletDeps) {
  const clock = deps.clock ?? systemClock;
  const { models } = deps;
  const tokens = createWalletTokens(deps.linkSecret);
  const webServiceURL = `${deps.publicUrl}${WALLET_WEB_SERVICE_PATH}`;
  const templates = createTemplateStore({ models, settings: deps.settings, clock });
  const passes = createPassStore({
    models,
    cards: deps.cards,
    members: deps.members,
    settings: deps.settings,
    partners: deps.partners,
    templates,
    tokens,
    passModels: deps.passModels ?? loadModels(),
    i18n: deps.i18n,
    clock,
    identity: { passTypeId: deps.passTypeId, teamId: deps.teamId, organizationName: deps.organizationName, webServiceURL },
    cache: createPassCache({ models, key: tokens.cacheKey, clock }),
    generator: deps.generator,
  });
  const registry = createRegistry({ models, clock, passTypeId: deps.passTypeId });
  const offers = createOfferService({ Cards: deps.Cards, models, cards: deps.cards, clock });

  /** The card's pass, signed; only an active card gets one. */
  async function passFile(cardNumber: string): Promise<{ bytes: Buffer; filename: string; serial: string; updatedAt: Date }> {
    const card = await deps.cards.resolve(cardNumber);
    const doc = await passes.ensure(card._id);
    return { bytes: await passes.file(doc), filename: `card-${card._id}.pkpass`, serial: doc._id, updatedAt: doc.updatedAt };
  }

  return {
    passTypeId: deps.passTypeId,
    webServiceURL,
    passes,
    registry,
    templates,
    async init(): Promise<void> {
      await Promise.all(Object.values(models).map((m) => m.createIndexes()));
    },
    /** The public download link of a card's pass: …/wallet/<signed token>.pkpass (the bot's "My card", the admin API). */
    linkFor(cardNumber: string): string {
      return `${deps.publicUrl}/wallet/${tokens.link(cardNumber)}.pkpass`;
    },
    passFile,
    /** The pass a link token names; a forged or malformed token, or an inactive card, is not_found. */
    async openLink(token: string): Promise<{ bytes: Buffer; filename: string; updatedAt: Date }> {
      const serial = tokens.parseLink(token);
      if (!serial) throw new DomainError('not_found', 'no such pass');
      try {
        return await passFile(serial);
      } catch (err) {
        if (err instanceof DomainError && ['card_not_found', 'card_blocked', 'card_replaced', 'invalid_card_number'].includes(err.code)) {
          throw new DomainError('not_found', 'no such pass');
        }
        throw err;
      }
    },
    /**
     * Refreshes and pushes the passes of these cards soon, for changes no domain event reports
     * (a level set by hand, a renamed member): at most WALLET_PUSH_RATE per second.
     */
    touch(cardNumbers: string[]): Promise<number> {
      return passes.markDirty(cardNumbers);
    },
    /**
     * The pass message an event brings, when it is news rather than a balance change: a contest
     * win is told on the winner's pass too (lock screen, and kept on its back), in the member's
     * language. null: the event shows nothing on the pass.
     */
    async passMessageFor(e: { type: string; memberId?: unknown; data?: unknown }): Promise<string | null> {
      if (e.type !== 'contest.won' || typeof e.memberId !== 'string') return null;
      const member = await deps.members.byId(e.memberId);
      const data = e.data as { title?: unknown; place?: unknown } | undefined;
      return member ? deps.i18n.t(member.language, 'contests:won', { title: data?.title, place: data?.place }) : null;
    },
    /**
     * Sets the offer shown on the back of the target's passes (and as a lock-screen
     * notification): one card, a list, a level, or all. Bot notifications and broadcasts call
     * this next to their message, so a message and its pass push go out together.
     */
    setOffer(target: OfferTarget, text: string): Promise<{ passes: number; invalid: string[] }> {
      return offers.setOffer(target, text);
    },
  };
}
export type Wallet = ReturnType<typeof createWallet>;
