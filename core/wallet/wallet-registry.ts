import type { Clock } from '../shared/clock.js';
import { isDuplicateKey } from '../shared/errors.js';
import { insertRaw } from '../shared/mongo.js';
import type { RegistrationDoc, WalletModels } from './wallet.model.js';

/**
 * A pass stamped within this long before a list tag is listed again. A write stamps its time
 * before it commits, so a list can see a later-stamped pass and miss an earlier-stamped one
 * still committing; re-listing costs Wallet one conditional GET answered 304.
 */
export const LIST_OVERLAP_MS = 3000;

/** Devices registered for pass updates (the storage behind the PassKit web service). */
export function createRegistry(deps: { models: WalletModels; clock: Clock; passTypeId: string }) {
  const { Registrations, Passes } = deps.models;
  const idOf = (device: string, serial: string): string => `${device}|${serial}`;

  return {
    /**
     * true when the device was not registered for this pass yet (Apple: 201), false when it was
     * (200). Only this pass's registration changes: the request is authenticated by this pass's
     * token, so it may not touch the device's other registrations (a stranger knowing a device
     * id would otherwise redirect the pushes of its other passes). A device with a new push
     * token registers each of its passes again, which updates each in turn.
     */
    async register(device: string, serial: string, pushToken: string): Promise<boolean> {
      const now = deps.clock.now();
      const doc: RegistrationDoc = {
        _id: idOf(device, serial),
        device,
        passTypeId: deps.passTypeId,
        serial,
        pushToken,
        pushedHash: null,
        createdAt: now,
        updatedAt: now,
      };
      try {
        await insertRaw(Registrations, doc);
        return true;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        await Registrations.updateOne({ _id: doc._id, pushToken: { $ne: pushToken } }, { $set: { pushToken, pushedHash: null, updatedAt: now } });
        return false;
      }
    },

    async unregister(device: string, serial: string): Promise<boolean> {
      const r = await Registrations.deleteOne({ _id: idOf(device, serial) });
      return r.deletedCount === 1;
    },

    /**
     * Serial numbers of the device's passes changed since a tag we gave it (`lastUpdated`, the
     * latest change in ms), or null when there are none (Apple: 204).
     */
    async updatedSince(device: string, since: string | undefined): Promise<{ serialNumbers: string[]; lastUpdated: string } | null> {
      const serials = (await Registrations.find({ device }, { serial: 1 }).lean()).map((r) => r.serial);
      if (serials.length === 0) return null;
      const sinceMs = since !== undefined && /^\d{1,15}$/.test(since) ? Number(since) : null;
      const filter = sinceMs === null ? { _id: { $in: serials } } : { _id: { $in: serials }, updatedAt: { $gt: new Date(sinceMs - LIST_OVERLAP_MS) } };
      const passes = await Passes.find({ ...filter, stateHash: { $ne: null } }, { _id: 1, updatedAt: 1, closedAt: 1 }).lean();
      if (passes.length === 0) return null;
      // A closed pass (its member erased their data) is listed once more, so the device fetches
      // the pass that says so; this device's registration for it is not needed after that.
      const closed = passes.filter((p) => p.closedAt).map((p) => idOf(device, p._id));
      if (closed.length > 0) await Registrations.deleteMany({ _id: { $in: closed } });
      const latest = Math.max(...passes.map((p) => new Date(p.updatedAt).getTime()));
      return { serialNumbers: passes.map((p) => p._id).sort(), lastUpdated: String(latest) };
    },

    /** Registrations of a pass that have not been pushed `stateHash` yet. */
    async pending(serial: string, stateHash: string): Promise<RegistrationDoc[]> {
      return Registrations.find({ serial, pushedHash: { $ne: stateHash } }).lean<RegistrationDoc[]>();
    },

    async markPushed(ids: string[], stateHash: string): Promise<void> {
      if (ids.length > 0) await Registrations.updateMany({ _id: { $in: ids } }, { $set: { pushedHash: stateHash } });
    },

    /**
     * APNs said the token is gone (410 Unregistered): every registration through it goes,
     * except ones made after `unregisteredAt` (APNs' timestamp): the device came back since.
     */
    async removePushToken(pushToken: string, unregisteredAt?: Date): Promise<number> {
      const filter = unregisteredAt ? { pushToken, updatedAt: { $lte: unregisteredAt } } : { pushToken };
      return (await Registrations.deleteMany(filter)).deletedCount;
    },

    async forSerial(serial: string): Promise<RegistrationDoc[]> {
      return Registrations.find({ serial }).lean<RegistrationDoc[]>();
    },
  };
}
