import { Schema, type Connection, type Model } from 'mongoose';
import type { ProgrammeSettings } from './settings.schema.js';

/**
 * One immutable document per settings version, `_id` = the version number. The unique `_id`
 * is what makes concurrent edits safe without transactions: two writers of version n+1
 * collide on insert and exactly one wins. Purchases record the version they were quoted under,
 * so old versions are never changed or removed.
 */
export interface SettingsVersionDoc {
  _id: number;
  /** Everything but the version, stored as validated; zod (settings.schema.ts) is the schema. */
  settings: Omit<ProgrammeSettings, 'version'>;
  createdAt: Date;
}

// Inferred, not Schema<SettingsVersionDoc>: the interface above is what reads are typed as.
const settingsVersionSchema = new Schema(
  {
    _id: { type: Number, required: true },
    settings: { type: Schema.Types.Mixed, required: true },
  },
  // minimize: false keeps empty objects such as cardPrefixes.stores = {} as written.
  { collection: 'programme_settings', versionKey: false, minimize: false, timestamps: { createdAt: true, updatedAt: false } },
);

export type SettingsVersionModel = Model<SettingsVersionDoc>;

export function settingsVersionModel(conn: Connection): SettingsVersionModel {
  return (conn.models.ProgrammeSettings as SettingsVersionModel | undefined) ?? conn.model<SettingsVersionDoc>('ProgrammeSettings', settingsVersionSchema);
}
