import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/** A shop or till integration; its API key is kept only as a SHA-256 hash. */
const storeSchema = new Schema(
  {
    name: { type: String, required: true, trim: true, maxlength: 120 },
    keyHash: { type: String, required: true },
    /** First characters of the key, shown in lists so an admin can tell keys apart. */
    keyHint: { type: String, required: true },
    cardPrefix: { type: String, default: null },
    /** The partner whose terms this store's purchases run on (core/partners); null: the programme's. */
    partnerId: { type: String, default: null },
    active: { type: Boolean, default: true },
  },
  { timestamps: true, collection: 'stores' },
);
storeSchema.index({ keyHash: 1 }, { unique: true });

export type StoreDoc = InferSchemaType<typeof storeSchema>;
export type StoreModel = Model<StoreDoc>;

export function storeModel(conn: Connection): StoreModel {
  return (conn.models.Store as StoreModel | undefined) ?? conn.model<StoreDoc>('Store', storeSchema);
}
