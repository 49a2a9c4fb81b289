import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A partner of the programme (a brand in an umbrella programme): its own accrual percent by
 * level and redemption cap, overriding the programme's. Stores point at it (`stores.partnerId`).
 * A term left null falls back to the programme's settings.
 */
export interface PartnerDoc {
  _id: string;
  name: string;
  /** Accrual percent for every level (bp); 0 = no accrual; null = the level's own percent. */
  percentBp: number | null;
  /** Per-level accrual percent (bp), winning over percentBp for the levels it names. */
  levelPercentBp: Record<string, number>;
  /** Share of a receipt points may pay (bp); null = the programme's cap. */
  redeemCapBp: number | null;
  createdAt: Date;
  updatedAt: Date;
}

const partnerSchema = new Schema<PartnerDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    percentBp: { type: Number, default: null },
    levelPercentBp: { type: Schema.Types.Mixed, default: {} },
    redeemCapBp: { type: Number, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'partners', versionKey: false, minimize: false },
);

export type PartnerModel = Model<PartnerDoc>;

export function partnerModel(conn: Connection): PartnerModel {
  return (conn.models.Partner as PartnerModel | undefined) ?? conn.model<PartnerDoc>('Partner', partnerSchema);
}
