import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A store's API key, by the SHA-256 of the key (`_id`): the till's every request finds its key
 * by `_id` (the one look-up FerretDB v1 answers from an index). A key stops working when it is
 * revoked, or when the grace period a rotation gave it ends.
 */
export interface StoreKeyDoc {
  _id: string;
  storeId: string;
  /** The key's first characters, to tell keys apart in lists. */
  hint: string;
  createdAt: Date;
  /** After a rotation: the old key works until then, so tills can be switched over. */
  expiresAt: Date | null;
  revokedAt: Date | null;
}

const storeKeySchema = new Schema<StoreKeyDoc>(
  {
    _id: { type: String, required: true },
    storeId: { type: String, required: true },
    hint: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, default: null },
    revokedAt: { type: Date, default: null },
  },
  { collection: 'store_keys', versionKey: false },
);
storeKeySchema.index({ storeId: 1 });

export type StoreKeyModel = Model<StoreKeyDoc>;

export function storeKeyModel(conn: Connection): StoreKeyModel {
  return (conn.models.StoreKey as StoreKeyModel | undefined) ?? conn.model<StoreKeyDoc>('StoreKey', storeKeySchema);
}
