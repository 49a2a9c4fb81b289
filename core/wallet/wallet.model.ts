import { Schema, type Connection, type Model } from 'mongoose';
import type { PassState, TemplateDesign } from './wallet.types.js';

/**
 * One Wallet pass per card (serial = card number). `updatedAt` is whole seconds and grows by
 * at least one second per change: it is the Last-Modified of the pass, and HTTP dates have
 * second precision, so two changes within one second must still differ.
 */
export interface PassDoc {
  _id: string;
  card: string;
  /** The template (level id, or 'default') the state was drawn from: re-skins find passes by it. */
  templateId: string;
  /** Random per pass; the authentication token is derived from it with the server secret. */
  tokenSalt: string;
  /** sha256 of the authentication token: the token itself is never stored. */
  tokenHash: string;
  state: PassState | null;
  stateHash: string | null;
  updatedAt: Date;
  offer: { text: string; at: Date } | null;
  /** Set by bulk changes (offers, re-skins); the wallet worker refreshes dirty passes at a bounded rate. */
  dirty: boolean;
  dirtyAt: Date | null;
  /**
   * Set when the card's member erased their data: the pass now says the card is closed; each
   * device's registration goes once the device has listed the change (or a few days later).
   */
  closedAt?: Date | null;
  createdAt: Date;
}

/** A device registered for a pass's updates, with the push token of that device. */
export interface RegistrationDoc {
  _id: string;
  device: string;
  passTypeId: string;
  serial: string;
  pushToken: string;
  /** The state hash last pushed to this device: a retried job pushes only to the devices it missed. */
  pushedHash: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Admin overrides of a model folder; `version` grows on every change. */
export interface TemplateDoc {
  _id: string;
  design: TemplateDesign;
  version: number;
  updatedAt: Date;
}

/**
 * A template's strip image at @1x, @2x and @3x, by the sha256 of the three PNGs: a design names
 * it (`strip`), and so does every pass state drawn from that design. Kept out of the design
 * document, which every pass refresh reads, and never changed once written.
 */
export interface WalletImageDoc {
  _id: string;
  x1: Buffer;
  x2: Buffer;
  x3: Buffer;
  createdAt: Date;
}

/** Signed passes by state: the same state is never signed twice. Bytes are encrypted (they carry the token). */
export interface PassCacheDoc {
  _id: string;
  stateHash: string;
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
  createdAt: Date;
}

const passSchema = new Schema<PassDoc>(
  {
    _id: { type: String, required: true },
    card: { type: String, required: true },
    templateId: { type: String, required: true },
    tokenSalt: { type: String, required: true },
    tokenHash: { type: String, required: true },
    state: { type: Schema.Types.Mixed, default: null },
    stateHash: { type: String, default: null },
    updatedAt: { type: Date, required: true },
    offer: { type: Schema.Types.Mixed, default: null },
    dirty: { type: Boolean, default: false },
    dirtyAt: { type: Date, default: null },
    closedAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
  },
  { collection: 'wallet_passes', versionKey: false },
);
passSchema.index({ dirty: 1, dirtyAt: 1 });
passSchema.index({ templateId: 1 });

const registrationSchema = new Schema<RegistrationDoc>(
  {
    _id: { type: String, required: true },
    device: { type: String, required: true },
    passTypeId: { type: String, required: true },
    serial: { type: String, required: true },
    pushToken: { type: String, required: true },
    pushedHash: { type: String, default: null },
    createdAt: Date,
    updatedAt: Date,
  },
  { collection: 'wallet_registrations', versionKey: false },
);
registrationSchema.index({ serial: 1 });
registrationSchema.index({ device: 1 });
registrationSchema.index({ pushToken: 1 });

const templateSchema = new Schema<TemplateDoc>(
  { _id: { type: String, required: true }, design: { type: Schema.Types.Mixed, default: {} }, version: { type: Number, default: 0 }, updatedAt: Date },
  { collection: 'wallet_templates', versionKey: false },
);

const imageSchema = new Schema<WalletImageDoc>(
  { _id: { type: String, required: true }, x1: Buffer, x2: Buffer, x3: Buffer, createdAt: Date },
  { collection: 'wallet_images', versionKey: false },
);

const cacheSchema = new Schema<PassCacheDoc>(
  { _id: { type: String, required: true }, stateHash: String, iv: Buffer, tag: Buffer, data: Buffer, createdAt: Date },
  { collection: 'wallet_pass_cache', versionKey: false },
);

export function walletModels(conn: Connection) {
  return {
    Passes: (conn.models.WalletPass as Model<PassDoc> | undefined) ?? conn.model<PassDoc>('WalletPass', passSchema),
    Registrations:
      (conn.models.WalletRegistration as Model<RegistrationDoc> | undefined) ?? conn.model<RegistrationDoc>('WalletRegistration', registrationSchema),
    Templates: (conn.models.WalletTemplate as Model<TemplateDoc> | undefined) ?? conn.model<TemplateDoc>('WalletTemplate', templateSchema),
    Images: (conn.models.WalletImage as Model<WalletImageDoc> | undefined) ?? conn.model<WalletImageDoc>('WalletImage', imageSchema),
    PassCache: (conn.models.WalletPassCache as Model<PassCacheDoc> | undefined) ?? conn.model<PassCacheDoc>('WalletPassCache', cacheSchema),
  };
}
export type WalletModels = ReturnType<typeof walletModels>;
