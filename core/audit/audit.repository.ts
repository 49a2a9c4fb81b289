import { Types, type Connection } from 'mongoose';
import type { Clock } from '../shared/clock.js';
import { auditModel, type AuditDoc } from './audit.model.js';

export interface AuditEntry {
  id: string;
  at: Date;
  actor: string;
  actorId: string | null;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
}

export interface AuditInput {
  actor: string;
  actorId?: string | null;
  action: string;
  target?: string | null;
  before?: unknown;
  after?: unknown;
  ip?: string | null;
}

const view = (d: AuditDoc): AuditEntry => ({
  id: String(d._id),
  at: d.at,
  actor: d.actor,
  actorId: d.actorId ?? null,
  action: d.action,
  target: d.target ?? null,
  before: d.before ?? null,
  after: d.after ?? null,
  ip: d.ip ?? null,
});

/** The audit log: appended on every change, read a page at a time by owners (newest first). */
export function createAuditLog(conn: Connection, deps: { clock: Clock }) {
  const Entries = auditModel(conn);
  return {
    async init(): Promise<void> {
      await Entries.createIndexes();
    },
    async record(e: AuditInput): Promise<void> {
      await Entries.create({
        at: deps.clock.now(),
        actor: e.actor,
        actorId: e.actorId ?? null,
        action: e.action,
        target: e.target ?? null,
        before: e.before ?? null,
        after: e.after ?? null,
        ip: e.ip ?? null,
      });
    },
    /** A page of entries older than `before` (an entry id), newest first; `next` continues. */
    async page(opts: { before?: string | undefined; limit?: number; action?: string | undefined } = {}): Promise<{ items: AuditEntry[]; next: string | null }> {
      const limit = Math.min(Math.max(opts.limit ?? 50, 1), 200);
      const filter: Record<string, unknown> = {};
      if (opts.before && Types.ObjectId.isValid(opts.before)) filter._id = { $lt: new Types.ObjectId(opts.before) };
      if (opts.action) filter.action = opts.action;
      const docs = await Entries.find(filter).sort({ _id: -1 }).limit(limit + 1).lean<AuditDoc[]>();
      const items = docs.slice(0, limit).map(view);
      return { items, next: docs.length > limit ? (items.at(-1)?.id ?? null) : null };
    },
  };
}
