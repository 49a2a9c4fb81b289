/**
 * Every error the domain raises carries a stable string code. The API maps codes to HTTP
 * statuses in one error handler (api/plugins/errors.plugin.ts); bots map them to the
 * localized text at `errors.<code>` in locales/.
 */
export const ERROR_CODES = [
  'validation_failed',
  'unauthorized',
  'forbidden',
  'not_found',
  'already_exists',
  'rate_limited',
  'invalid_card_number',
  'card_not_found',
  'card_blocked',
  'card_replaced',
  'card_already_linked',
  'member_not_found',
  'member_exists',
  /** A chat account already linked to another member. */
  'account_linked_elsewhere',
  'phone_invalid',
  'consent_required',
  'insufficient_points',
  'redeem_limit_exceeded',
  'idempotency_conflict',
  'purchase_not_found',
  'refund_exceeds_receipt',
  'store_not_found',
  'concurrent_update',
  'card_busy',
  'outcome_unknown',
  'contest_not_found',
  'contest_not_open',
  'contest_not_eligible',
  'contest_already_entered',
  'contest_card_taken',
  'contest_throttled',
  'import_not_found',
  'file_too_large',
  'segment_not_found',
  /** A draw asked for before the contest closed (at its closing time, or early with a published reason). */
  'contest_still_open',
  'partner_not_found',
  /** A partner that stores still belong to is not deleted. */
  'partner_in_use',
  'broadcast_not_found',
  /** Pause, resume or cancel asked of a broadcast in a status that does not allow it. */
  'broadcast_state',
  /** Staff accounts and panel sign-in. */
  'user_exists',
  'user_not_found',
  'invalid_email',
  'weak_password',
  'store_required',
  'last_owner',
  'invalid_credentials',
  'login_throttled',
  /** A panel form or htmx request without its session's CSRF token. */
  'csrf_failed',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = code,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** A unique index said no; `index` names which one so the caller can choose the domain code. */
export class DuplicateKeyError extends DomainError {
  constructor(
    readonly index: string,
    readonly keyValue: Record<string, unknown>,
  ) {
    super('already_exists', `duplicate key on ${index}`, { index });
    this.name = 'DuplicateKeyError';
  }
}

interface MongoLikeError {
  code?: unknown;
  keyPattern?: Record<string, unknown>;
  keyValue?: Record<string, unknown>;
  message?: unknown;
}

export function isDuplicateKey(err: unknown): err is MongoLikeError {
  return typeof err === 'object' && err !== null && (err as MongoLikeError).code === 11000;
}

/** Which unique index of a model a document collides with, asked of the database itself. */
export interface UniqueProbe {
  schema: { indexes(): [Record<string, unknown>, Record<string, unknown>][] };
  exists(filter: Record<string, unknown>): PromiseLike<unknown>;
}

/**
 * Maps a MongoDB duplicate-key error to DuplicateKeyError; anything else is rethrown as is.
 * MongoDB names the index in keyPattern; FerretDB v1 names none, so then we probe each
 * unique index of the model with the document's values (works on both servers).
 */
export async function mapDuplicateKey(err: unknown, model?: UniqueProbe, doc?: Record<string, unknown>): Promise<never> {
  if (!isDuplicateKey(err)) throw err;
  if (err.keyPattern && Object.keys(err.keyPattern).length > 0) {
    throw new DuplicateKeyError(Object.keys(err.keyPattern).join('_'), err.keyValue ?? {});
  }
  if (model && doc) {
    for (const [fields, options] of model.schema.indexes()) {
      if (options.unique !== true) continue;
      const filter = Object.fromEntries(Object.keys(fields).map((f) => [f, doc[f]]));
      if (await model.exists(filter)) throw new DuplicateKeyError(Object.keys(fields).join('_'), filter);
    }
  }
  throw new DuplicateKeyError('unknown', {});
}
