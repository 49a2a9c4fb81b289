import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Clock } from '../shared/clock.js';
import type { WalletModels } from './wallet.model.js';

/**
 * Signed passes by state, one per pass (the current state), in MongoDB: a state signed once
 * is served from here by every process (within a process, concurrent asks also share one
 * signing; two processes asked at the same instant may each sign it). A signed pass contains its authentication
 * token, so the bytes are encrypted (AES-256-GCM, key derived from the wallet secret): the
 * database alone never yields a usable token.
 */
export interface PassCache {
  get(serial: string, stateHash: string): Promise<Buffer | null>;
  put(serial: string, stateHash: string, bytes: Buffer): Promise<void>;
}

export function createPassCache(deps: { models: WalletModels; key: Buffer; clock: Clock }): PassCache {
  const { PassCache: Cache } = deps.models;
  return {
    async get(serial, hash) {
      // Not lean: mongoose casts the binary fields back to Buffers.
      const doc = await Cache.findOne({ _id: serial, stateHash: hash });
      if (!doc) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', deps.key, Buffer.from(doc.iv));
        decipher.setAuthTag(Buffer.from(doc.tag));
        decipher.setAAD(Buffer.from(`${serial}|${hash}`));
        return Buffer.concat([decipher.update(Buffer.from(doc.data)), decipher.final()]);
      } catch {
        // Written under another secret (WALLET_LINK_SECRET changed): sign again.
        return null;
      }
    },
    async put(serial, hash, bytes) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', deps.key, iv);
      cipher.setAAD(Buffer.from(`${serial}|${hash}`));
      const data = Buffer.concat([cipher.update(bytes), cipher.final()]);
      await Cache.updateOne(
        { _id: serial },
        { $set: { stateHash: hash, iv, tag: cipher.getAuthTag(), data, createdAt: deps.clock.now() } },
        { upsert: true },
      );
    },
  };
}
