import { Schema, type Connection, type Model } from 'mongoose';

/** Channels a contest can run on: the social networks where members type their card number. */
export const CONTEST_CHANNELS = ['telegram', 'vk', 'twitch'] as const;
export type ContestChannel = (typeof CONTEST_CHANNELS)[number];

export interface ContestWinner {
  place: number;
  /** The entry's public id (what the published record and the verifier show). */
  entryId: string;
  masked: string;
  card: string;
  memberId: string | null;
  channel: ContestChannel;
  account: string;
}

/**
 * A contest. Its life: open between opensAt and closesAt (or until closed by hand) → closed
 * (`closedAt`) → sealed (entriesDigest over the frozen entry list) → drawn (seed revealed,
 * winners). Entries pass through a gate on this document (`inflight`), which is how a close
 * knows no entry is still being written when it freezes the list.
 */
export interface ContestDoc {
  _id: string;
  title: string;
  description: string;
  prizes: number;
  channels: ContestChannel[];
  opensAt: Date;
  closesAt: Date;
  /** A spend level id: the card must have reached it. */
  minLevel: string | null;
  /** Members registered before this moment only. */
  joinedBefore: Date | null;
  /** 32 bytes, hex: secret until the draw. */
  seed: string;
  commitment: string;
  /** Entry gate tokens `<expiresAtMs>.<random>`: entries being written right now. */
  inflight: string[];
  closedAt: Date | null;
  /**
   * Why the contest was closed before its closing time (published): the closing time is fixed
   * at creation, so an operator who can read the seed cannot quietly pick the moment whose
   * entry list suits them.
   */
  closeReason?: string | null;
  sealLockToken: string | null;
  sealLockUntil: Date | null;
  entriesDigest: string | null;
  entryCount: number | null;
  sealedAt: Date | null;
  drawnAt: Date | null;
  winners: ContestWinner[] | null;
  createdAt: Date;
  updatedAt: Date;
}

const contestSchema = new Schema<ContestDoc>(
  {
    _id: { type: String, required: true },
    title: { type: String, required: true },
    description: { type: String, default: '' },
    prizes: { type: Number, required: true },
    channels: { type: [String], required: true },
    opensAt: { type: Date, required: true },
    closesAt: { type: Date, required: true },
    minLevel: { type: String, default: null },
    joinedBefore: { type: Date, default: null },
    seed: { type: String, required: true },
    commitment: { type: String, required: true },
    inflight: { type: [String], default: [] },
    closedAt: { type: Date, default: null },
    closeReason: { type: String, default: null },
    sealLockToken: { type: String, default: null },
    sealLockUntil: { type: Date, default: null },
    entriesDigest: { type: String, default: null },
    entryCount: { type: Number, default: null },
    sealedAt: { type: Date, default: null },
    drawnAt: { type: Date, default: null },
    winners: { type: Schema.Types.Mixed, default: null },
    createdAt: Date,
    updatedAt: Date,
  },
  { collection: 'contests', versionKey: false },
);
contestSchema.index({ closesAt: 1 });

/**
 * One entry: `_id` = `<contestId>|<card>`, so one entry per card and contest is the
 * primary key itself (FerretDB v1 has no partial indexes; `_id` is unique everywhere).
 */
export interface ContestEntryDoc {
  _id: string;
  contestId: string;
  /** Public, random (128 bits); the draw sorts by it. */
  publicId: string;
  card: string;
  masked: string;
  memberId: string | null;
  channel: ContestChannel;
  account: string;
  at: Date;
  /** Set when the close froze the list with this entry in it. */
  included: boolean;
}

const entrySchema = new Schema<ContestEntryDoc>(
  {
    _id: { type: String, required: true },
    contestId: { type: String, required: true },
    publicId: { type: String, required: true },
    card: { type: String, required: true },
    masked: { type: String, required: true },
    memberId: { type: String, default: null },
    channel: { type: String, required: true },
    account: { type: String, required: true },
    at: { type: Date, required: true },
    included: { type: Boolean, default: false },
  },
  { collection: 'contest_entries', versionKey: false },
);
entrySchema.index({ contestId: 1, publicId: 1 });

/** One card per social account and contest: `_id` = `<contestId>|<account>` → the card it entered with. */
export interface ContestAccountDoc {
  _id: string;
  card: string;
  at: Date;
}
const accountSchema = new Schema<ContestAccountDoc>(
  { _id: { type: String, required: true }, card: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: 'contest_accounts', versionKey: false },
);

/** Wrong card numbers per social account (all contests): a window opens at the first one. */
export interface ContestThrottleDoc {
  _id: string;
  windowStart: Date;
  count: number;
  refused: number;
  lastRefusedAt: Date | null;
}
const throttleSchema = new Schema<ContestThrottleDoc>(
  { _id: String, windowStart: Date, count: Number, refused: { type: Number, default: 0 }, lastRefusedAt: { type: Date, default: null } },
  { collection: 'contest_throttle', versionKey: false },
);

export type ContestModel = Model<ContestDoc>;
export type ContestEntryModel = Model<ContestEntryDoc>;
export type ContestAccountModel = Model<ContestAccountDoc>;
export type ContestThrottleModel = Model<ContestThrottleDoc>;

export function contestModels(conn: Connection) {
  return {
    Contests: (conn.models.Contest as ContestModel | undefined) ?? conn.model<ContestDoc>('Contest', contestSchema),
    Entries: (conn.models.ContestEntry as ContestEntryModel | undefined) ?? conn.model<ContestEntryDoc>('ContestEntry', entrySchema),
    Accounts: (conn.models.ContestAccount as ContestAccountModel | undefined) ?? conn.model<ContestAccountDoc>('ContestAccount', accountSchema),
    Throttle: (conn.models.ContestThrottle as ContestThrottleModel | undefined) ?? conn.model<ContestThrottleDoc>('ContestThrottle', throttleSchema),
  };
}
export type ContestModels = ReturnType<typeof contestModels>;
