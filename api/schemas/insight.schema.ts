import { z } from 'zod';
import { IMPORT_STATUSES } from '../../core/imports/import.model.js';
import { EXPORT_FORMATS } from '../../core/exports/export.format.js';
import { ruleGroupSchema } from '../../core/segments/segment.rules.js';

const id = z.string().regex(/^[a-f0-9]{24}$/, 'an id of 24 hex characters');
export const idParams = z.strictObject({ id });

export const importQuery = z.strictObject({ dryRun: z.enum(['true', 'false']).default('false').describe('true: check every row and count what would happen, change nothing') });
export const importCreated = z.object({ id: z.string() });
const rowError = z.object({ row: z.int().describe('File row (the header is row 1)'), column: z.string(), reason: z.string().describe('Stable reason code (README lists them)') });
export const importView = z.object({
  id: z.string(),
  status: z.enum(IMPORT_STATUSES),
  dryRun: z.boolean(),
  format: z.enum(['csv', 'xlsx']),
  progress: z.object({ phase: z.string(), done: z.int(), total: z.int().nullable(), percent: z.int() }),
  rows: z.int(),
  created: z.int(),
  updated: z.int(),
  unchanged: z.int(),
  merged: z.int().describe('Rows folded into an earlier row of the same phone'),
  failed: z.int(),
  errors: z.array(rowError).describe('The first 1,000 errors; all of them at …/errors.csv'),
  errorCount: z.int(),
  failure: z.object({ reason: z.string(), message: z.string() }).nullable().describe('Set when the file as a whole cannot be read'),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});

export const segmentBody = z.strictObject({ name: z.string().min(1).max(100), rules: ruleGroupSchema });
export const rulesBody = z.strictObject({ rules: ruleGroupSchema });
export const segmentView = z.object({ id: z.string(), name: z.string(), rules: z.unknown(), createdAt: z.string(), updatedAt: z.string() });
export const segmentWithCount = segmentView.extend({ count: z.int(), asOf: z.string().nullable().describe('When the audience was last built') });
export const segmentList = z.object({ items: z.array(segmentView) });
export const countView = z.object({ count: z.int(), asOf: z.string().nullable() });
export const membersQuery = z.strictObject({ after: id.optional().describe('The `next` of the previous page'), limit: z.coerce.number().int().min(1).max(500).default(50) });
export const membersPage = z.object({
  items: z.array(
    z.object({
      memberId: z.string(),
      name: z.string(),
      maskedPhone: z.string(),
      cardNumber: z.string().nullable(),
      level: z.string(),
      purchases: z.int(),
      spentKopecks: z.int(),
      lastPurchaseAt: z.string().nullable(),
      rfmGroup: z.string().nullable(),
    }),
  ),
  next: z.string().nullable(),
});
export const audienceQueued = z.object({ queued: z.boolean() });

export const periodQuery = z.strictObject({
  from: z.string().optional().describe('First day, YYYY-MM-DD in the shop time zone (default: 29 days before `to`)'),
  to: z.string().optional().describe('Last day, inclusive (default: today)'),
});
export const exportMembersQuery = z.strictObject({ format: z.enum(EXPORT_FORMATS).default('csv'), segmentId: id.optional(), lang: z.enum(['ru', 'en']).default('ru') });
export const exportPeriodQuery = periodQuery.extend({ format: z.enum(EXPORT_FORMATS).default('csv'), lang: z.enum(['ru', 'en']).default('ru') });
