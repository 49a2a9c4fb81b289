import { Schema, type Connection, type Model } from 'mongoose';
import type { Language } from '../i18n/i18n.js';

/**
 * Where a chat dialogue stands, one document per channel identity (`telegram:<id>`, `vk:<id>`,
 * `console:<id>`). Kept in MongoDB, not in memory, so a half-finished join survives a restart
 * and any bots process can take the next message.
 */
export interface ConversationDoc {
  /** The channel identity. */
  _id: string;
  /** The dialogue step the flows expect next ('join.phone', 'join.name', 'join.consent', 'menu'). */
  step: string;
  /** Step data (phone and name typed so far, referral code, history cursors); shaped by the flows. */
  data: Record<string, unknown>;
  /** Language chosen at first contact, before the person is a member (a member's own language wins). */
  language: Language;
  updatedAt: Date;
}

const conversationSchema = new Schema<ConversationDoc>(
  {
    _id: { type: String, required: true },
    step: { type: String, required: true },
    data: { type: Schema.Types.Mixed, default: {} },
    language: { type: String, enum: ['ru', 'en'], required: true },
    updatedAt: { type: Date, required: true },
  },
  // minimize: false keeps an empty `data` as written instead of dropping the field.
  { collection: 'conversations', versionKey: false, minimize: false },
);

export type ConversationModel = Model<ConversationDoc>;

export function conversationModel(conn: Connection): ConversationModel {
  return (conn.models.Conversation as ConversationModel | undefined) ?? conn.model<ConversationDoc>('Conversation', conversationSchema);
}
