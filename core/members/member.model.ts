import { Schema, Types, type Connection, type Model } from 'mongoose';

export const CHANNELS = ['telegram', 'vk', 'twitch', 'console', 'till', 'admin', 'web'] as const;
export type Channel = (typeof CHANNELS)[number];
export const MEMBER_STATUSES = ['active', 'blocked', 'erased'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];
/** Who took a member's consent: the member in a chat, a cashier at the till, the operator (admin API or CLI). */
export const CONSENT_TAKERS = ['member', 'cashier', 'admin'] as const;
export type ConsentBy = (typeof CONSENT_TAKERS)[number];

/** The consent given: which text version, when, through which channel and who took it. */
export interface ConsentRecord {
  at: Date;
  version: string;
  /** Absent on members who joined before it was recorded. */
  channel?: Channel;
  by?: ConsentBy;
}

export interface MemberDoc {
  _id: Types.ObjectId;
  /**
   * E.164 while the member holds the number (who holds which number is member_phones, see
   * phone-registry.ts); otherwise `none:<id>` (never had one, or lost a typed one to its owner)
   * or `erased:<id>`, so the unique index still holds.
   */
  phone: string;
  name: string;
  language: 'ru' | 'en';
  consent: ConsentRecord | null;
  status: MemberStatus;
  /** The programme card (one per member, whatever channels they come from). */
  cardNumber: string | null;
  referralCode: string;
  referrerId: string | null;
  /** Channel the member joined through (drives the card prefix and reports). */
  joinedVia: Channel;
  storeId: string | null;
  /** Marketing opt-in per channel; transactional notices follow `notifications`. */
  optIn: Partial<Record<Channel | 'wallet', boolean>>;
  /**
   * When the member last chose about marketing themself (join flow, settings, unsubscribe
   * button) or an import said so. Opt-ins without it (set automatically before broadcasts
   * existed) do not count: such members are not subscribed until they opt in.
   */
  optInAt?: Date | null;
  /** Chat channels where the bot may not write (blocked, denied), since when; cleared when they write again. */
  unreachable?: Partial<Record<'telegram' | 'vk', Date>>;
  notifications: boolean;
  roles: string[];
  birthday: Date | null;
  registeredAt: Date | null;
  erasedAt: Date | null;
  /** Set when a typed number was taken by its proved owner; cleared once the member was told (next chat visit). */
  phoneReleasedAt?: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Counters mirrored from the ledger's events (core/insight/member-stats.mirror.ts); absent until the first movement. */
  stats?: MemberStats;
  /** Channels, pass, reach, referrals, contests: refreshed by the audience pass (core/segments/member-profile.pass.ts). */
  profile?: MemberProfile;
  /** RFM scores of the last recompute (core/segments/rfm.service.ts); absent for members without purchases. */
  rfm?: MemberRfm;
  /** The import that created this member (core/imports/import.apply.ts): such members are not new joiners. */
  imported?: MemberImport;
}

export interface MemberStats {
  /** Card version of the snapshot: a newer one wins, an older or repeated one is ignored. */
  seq: number;
  purchases: number;
  spentKopecks: number;
  lastPurchaseAt: Date | null;
  earned: number;
  redeemed: number;
  expired: number;
  balance: number;
  levelId: string | null;
}

export interface MemberProfile {
  /** Chat channels with a linked account (telegram, vk, twitch, console). */
  channels: string[];
  hasPass: boolean;
  /** Channels a marketing message can reach: linked (or a pass on a device) and opted in. */
  reachable: string[];
  referrals: number;
  contests: number;
  at: Date;
}

export interface MemberRfm {
  r: number;
  f: number;
  m: number;
  group: string;
  run: string;
  at: Date;
}

/** Set once when an import creates or first touches the member; what it loaded is in `import_marks`. */
export interface MemberImport {
  importId: string;
  createdByImport: boolean;
  at: Date;
}

const memberSchema = new Schema<MemberDoc>(
  {
    phone: { type: String, required: true },
    name: { type: String, required: true, maxlength: 100 },
    language: { type: String, enum: ['ru', 'en'], default: 'ru' },
    consent: { type: Schema.Types.Mixed, default: null },
    status: { type: String, enum: MEMBER_STATUSES, default: 'active' },
    cardNumber: { type: String, default: null },
    referralCode: { type: String, required: true },
    referrerId: { type: String, default: null },
    joinedVia: { type: String, enum: CHANNELS, required: true },
    storeId: { type: String, default: null },
    optIn: { type: Schema.Types.Mixed, default: {} },
    optInAt: { type: Date, default: null },
    unreachable: { type: Schema.Types.Mixed },
    notifications: { type: Boolean, default: true },
    roles: { type: [String], default: [] },
    birthday: { type: Date, default: null },
    registeredAt: { type: Date, default: null },
    erasedAt: { type: Date, default: null },
    stats: { type: Schema.Types.Mixed },
    profile: { type: Schema.Types.Mixed },
    rfm: { type: Schema.Types.Mixed },
    imported: { type: Schema.Types.Mixed },
    phoneReleasedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'members', versionKey: false },
);
memberSchema.index({ phone: 1 }, { unique: true });
memberSchema.index({ referralCode: 1 }, { unique: true });
memberSchema.index({ referrerId: 1 });
// Reports and segments: join date, last purchase, RFM group.
memberSchema.index({ registeredAt: 1 });
memberSchema.index({ 'stats.lastPurchaseAt': 1 });
memberSchema.index({ 'rfm.group': 1 });
// The panel's search by the start of a name.
memberSchema.index({ name: 1 });

/**
 * A channel identity (`telegram:<user id>`, `vk:<id>` …) → member. A collection of its own
 * because `_id` is unique for free, while a unique index over optional fields of the member
 * would need partial indexes, which FerretDB v1 lacks.
 */
export interface IdentityDoc {
  _id: string;
  memberId: string;
  createdAt: Date;
}
const identitySchema = new Schema<IdentityDoc>(
  { _id: { type: String, required: true }, memberId: { type: String, required: true }, createdAt: { type: Date, required: true } },
  { collection: 'member_identities', versionKey: false },
);
identitySchema.index({ memberId: 1 });

/** Plastic cards a store already handed out: number → the member's programme card. */
export interface CardAliasDoc {
  _id: string;
  card: string | null;
  importedAt: Date;
  linkedAt: Date | null;
}
const aliasSchema = new Schema<CardAliasDoc>(
  { _id: { type: String, required: true }, card: { type: String, default: null }, importedAt: Date, linkedAt: { type: Date, default: null } },
  { collection: 'card_aliases', versionKey: false },
);

/** Referral bonuses granted per referrer's phone (keyed hash) and month, with the invited phones' hashes: the monthly cap. */
export interface ReferralCounterDoc {
  _id: string;
  count: number;
  invitees: string[];
}
const referralCounterSchema = new Schema<ReferralCounterDoc>(
  { _id: String, count: Number, invitees: [String] },
  { collection: 'referral_counters', versionKey: false },
);

export type MemberModel = Model<MemberDoc>;
export type IdentityModel = Model<IdentityDoc>;
export type CardAliasModel = Model<CardAliasDoc>;
export type ReferralCounterModel = Model<ReferralCounterDoc>;

export function memberModels(conn: Connection) {
  return {
    Members: (conn.models.Member as MemberModel | undefined) ?? conn.model<MemberDoc>('Member', memberSchema),
    Identities: (conn.models.MemberIdentity as IdentityModel | undefined) ?? conn.model<IdentityDoc>('MemberIdentity', identitySchema),
    Aliases: (conn.models.CardAlias as CardAliasModel | undefined) ?? conn.model<CardAliasDoc>('CardAlias', aliasSchema),
    ReferralCounters:
      (conn.models.ReferralCounter as ReferralCounterModel | undefined) ?? conn.model<ReferralCounterDoc>('ReferralCounter', referralCounterSchema),
  };
}
export type MemberModels = ReturnType<typeof memberModels>;

/** A new member id (an ObjectId, so ids sort by creation like every other collection's). */
export function newMemberId(): Types.ObjectId {
  return new Types.ObjectId();
}

/** Whether `id` can be a member id at all (a malformed one finds nobody, without a cast error). */
export function isMemberId(id: string): boolean {
  return Types.ObjectId.isValid(id);
}
