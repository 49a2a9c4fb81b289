import { z } from 'zod';
import type { ErrorCode } from '../../core/shared/errors.js';
import { STATUS } from '../plugins/errors.plugin.js';

/** Money in the API is integer kopecks (1 ₽ = 100); points are integers. No floats anywhere. */
export const kopecks = (what: string) => z.int().min(0).describe(`${what}, in kopecks (integer; 1 ₽ = 100 kopecks)`);
export const points = (what: string) => z.int().min(0).describe(`${what} (integer points)`);

/** Card numbers are checked (format, Luhn digit) by the domain, which answers invalid_card_number. */
export const cardNumber = z.string().min(1).max(64).describe('Card number as typed or scanned (spaces and dashes allowed); a linked plastic card number works too');
export const phone = z.string().min(1).max(64).describe('Phone number, E.164 (+79991234567) or as typed in Russia (8 999 123-45-67)');

export const cardNumberParams = z.strictObject({ number: cardNumber });

export const localizedLevel = z.object({
  id: z.string(),
  name: z.string().describe('Level name in the language of Accept-Language (ru unless it asks for en)'),
  percent: z.number().describe('Accrual percent of the level (5 = 5%; may be fractional, e.g. 2.5)'),
});

export const errorBody = z
  .object({
    error: z.object({
      code: z.string().describe('Stable machine-readable code (see the README error table)'),
      message: z.string().describe('Human-readable explanation; do not parse'),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .describe('Error');

/** Errors produced by HTTP itself rather than the domain, with their statuses. */
const HTTP_ERRORS = { bad_request: 400, not_found: 404, payload_too_large: 413, unsupported_media_type: 415 } as const;
type ApiErrorCode = ErrorCode | keyof typeof HTTP_ERRORS;

function statusOf(code: ApiErrorCode): number {
  return code in HTTP_ERRORS ? HTTP_ERRORS[code as keyof typeof HTTP_ERRORS] : STATUS[code as ErrorCode];
}

/**
 * Error responses of a route for its schema (and so for OpenAPI): the codes it may answer,
 * grouped by the status the error handler gives them. Every route may also answer
 * validation_failed / bad_request (400) and unauthorized (401).
 */
export function errorResponses(...codes: ApiErrorCode[]): Record<number, typeof errorBody> {
  const byStatus = new Map<number, Set<string>>();
  for (const code of ['validation_failed', 'bad_request', 'unauthorized', ...codes] as ApiErrorCode[]) {
    const status = statusOf(code);
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
  }
  return Object.fromEntries([...byStatus].map(([status, set]) => [status, errorBody.describe(`Error: ${[...set].join(', ')}`)]));
}

export const TILL_SECURITY = [{ storeKey: [] }];
export const ADMIN_SECURITY = [{ adminToken: [] }];
