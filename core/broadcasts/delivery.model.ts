import { Schema, type Connection, type Model } from 'mongoose';
import type { BroadcastChannel, DeliveryOutcome, DeliveryState } from './broadcast.types.js';

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
  /**
   * How many times it went back to `queued` (a 429, a pause, a server error): names the claim
   * gates of the embedded store (delivery-gate.repository.ts); absent = 0. Unused on MongoDB.
   */
  round?: number;
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
    round: Number,
  },
  { collection: 'broadcast_deliveries', versionKey: false },
);

export type DeliveryModel = Model<DeliveryDoc>;

export function deliveryModel(conn: Connection): DeliveryModel {
  return (conn.models.BroadcastDelivery as DeliveryModel | undefined) ?? conn.model<DeliveryDoc>('BroadcastDelivery', deliverySchema);
}

/**
 * A gate of the embedded store (delivery-gate.repository.ts): `_id` = `${deliveryId}#${round}` (who sends
 * that round) or `${deliveryId}#${round}.end` (how the round ended). Inserted once, never
 * changed: the unique `_id` is the one atomic test FerretDB v1 answers without reading the
 * whole collection.
 */
export interface GateDoc {
  _id: string;
  /** The job (claim) that took the gate; `cancel` for a broadcast canceled. */
  job: string;
  at: Date;
  /** End gates: the round's outcome, or `queued` when it was given back. */
  state?: DeliveryOutcome | 'queued';
  reason?: string | null;
}

const gateSchema = new Schema<GateDoc>(
  {
    _id: { type: String, required: true },
    job: { type: String, required: true },
    at: Date,
    state: String,
    reason: String,
  },
  { collection: 'broadcast_claims', versionKey: false },
);

export type GateModel = Model<GateDoc>;

export function gateModel(conn: Connection): GateModel {
  return (conn.models.BroadcastClaim as GateModel | undefined) ?? conn.model<GateDoc>('BroadcastClaim', gateSchema);
}

export const deliveryId = (b: string, channel: BroadcastChannel | 'holdout', memberId: string): string => `${b}:${channel}:${memberId}`;
