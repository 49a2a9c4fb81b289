import { Schema, type Connection, type Model } from 'mongoose';
import type { BroadcastChannel, DeliveryState } from './broadcast.types.js';

/**
 * One recipient × channel of one broadcast. `_id` = `${broadcastId}:${channel}:${memberId}`:
 * unique for free (FerretDB v1 has no partial indexes), and a broadcast's deliveries of one
 * channel are one `_id` range. A holdout member is recorded as channel `holdout`.
 */
export interface DeliveryDoc {
  _id: string;
  b: string;
  channel: BroadcastChannel | 'holdout';
  memberId: string;
  /** Where it goes: the chat user id (telegram, vk) or the card number (wallet). */
  to: string;
  lang: 'ru' | 'en';
  state: DeliveryState;
  /** Who is sending it (the BullMQ job id) while `sending`. */
  claim: string | null;
  reason: string | null;
  at: Date;
}

const deliverySchema = new Schema<DeliveryDoc>(
  {
    _id: { type: String, required: true },
    b: { type: String, required: true },
    channel: { type: String, required: true },
    memberId: { type: String, required: true },
    to: String,
    lang: String,
    state: { type: String, required: true },
    claim: { type: String, default: null },
    reason: { type: String, default: null },
    at: Date,
  },
  { collection: 'broadcast_deliveries', versionKey: false },
);

export type DeliveryModel = Model<DeliveryDoc>;

export function deliveryModel(conn: Connection): DeliveryModel {
  return (conn.models.BroadcastDelivery as DeliveryModel | undefined) ?? conn.model<DeliveryDoc>('BroadcastDelivery', deliverySchema);
}

export const deliveryId = (b: string, channel: BroadcastChannel | 'holdout', memberId: string): string => `${b}:${channel}:${memberId}`;
