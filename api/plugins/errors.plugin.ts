import type { FastifyError, FastifyInstance } from 'fastify';
import { DomainError, type ErrorCode } from '../../core/shared/errors.js';

/** The one place where domain error codes become HTTP statuses (route schemas document them from here). */
export const STATUS: Readonly<Record<ErrorCode, number>> = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  already_exists: 409,
  rate_limited: 429,
  invalid_card_number: 400,
  card_not_found: 404,
  card_blocked: 423,
  card_replaced: 410,
  card_already_linked: 409,
  member_not_found: 404,
  member_exists: 409,
  account_linked_elsewhere: 409,
  phone_invalid: 400,
  consent_required: 422,
  insufficient_points: 422,
  redeem_limit_exceeded: 422,
  idempotency_conflict: 409,
  purchase_not_found: 404,
  refund_exceeds_receipt: 422,
  store_not_found: 404,
  concurrent_update: 409,
  // Retryable: nothing of the request moved (card_busy), or the store failed mid-request and a
  // retry with the same body returns the final result (outcome_unknown).
  card_busy: 503,
  outcome_unknown: 503,
  contest_not_found: 404,
  contest_not_open: 409,
  contest_not_eligible: 403,
  contest_already_entered: 409,
  contest_card_taken: 409,
  contest_throttled: 429,
  import_not_found: 404,
  file_too_large: 413,
  segment_not_found: 404,
  contest_still_open: 409,
  partner_not_found: 404,
  partner_in_use: 409,
  broadcast_not_found: 404,
  broadcast_state: 409,
  user_exists: 409,
  user_not_found: 404,
  invalid_email: 400,
  weak_password: 400,
  store_required: 400,
  last_owner: 409,
  invalid_credentials: 401,
  login_throttled: 429,
  csrf_failed: 403,
};

export function errorBody(code: string, message: string, details?: Record<string, unknown>): { error: Record<string, unknown> } {
  return { error: { code, message, ...(details && Object.keys(details).length > 0 ? { details } : {}) } };
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | DomainError | Error, req, reply) => {
    if (err instanceof DomainError) {
      return reply.status(STATUS[err.code]).send(errorBody(err.code, err.message, err.details));
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const problems = fe.validation.map((v) => ({ path: `${fe.validationContext ?? ''}${v.instancePath}`, message: v.message ?? 'invalid' }));
      return reply.status(400).send(errorBody('validation_failed', fe.message, { problems }));
    }
    if (fe.statusCode === 429) {
      return reply.status(429).send(errorBody('rate_limited', 'Too many requests'));
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      // Malformed JSON, wrong content type, body too large: the client's fault, stated plainly.
      const code = fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type' : fe.statusCode === 413 ? 'payload_too_large' : 'bad_request';
      return reply.status(fe.statusCode).send(errorBody(code, fe.message));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send(errorBody('internal', 'Internal error'));
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send(errorBody('not_found', `No route ${req.method} ${req.url.split('?')[0] ?? ''}`)));
}
