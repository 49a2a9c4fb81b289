import { z } from 'zod';
import { BROADCAST_CHANNELS, BROADCAST_STATUSES, LIST_MAX, TEXT_MAX } from '../../core/broadcasts/broadcast.types.js';

const id = z.string().regex(/^[a-f0-9]{24}$/, 'an id of 24 hex characters');
export const broadcastParams = z.strictObject({ id });

const audience = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('all') }),
    z.strictObject({ kind: z.literal('level'), levelId: z.string().min(1).max(32) }),
    z.strictObject({ kind: z.literal('cards'), numbers: z.array(z.string().min(1).max(64)).min(1).max(LIST_MAX) }),
    z.strictObject({ kind: z.literal('phones'), phones: z.array(z.string().min(1).max(64)).min(1).max(LIST_MAX) }),
    z.strictObject({ kind: z.literal('segment'), segmentId: id }),
  ])
  .describe('Who: everyone, a level, a list of cards or phones (up to 10,000), or a saved segment');

const channel = z.enum(BROADCAST_CHANNELS);

export const broadcastBody = z.strictObject({
  text: z.string().trim().min(1).max(TEXT_MAX).describe('Plain text, 1–1,000 characters; shown safely in each channel (no markup)'),
  audience,
  channels: z.array(channel).min(1).max(3).optional().describe('Default: telegram, vk and wallet'),
  button: z.strictObject({ text: z.string().trim().min(1).max(40), url: z.url({ protocol: /^https?$/ }).max(512) }).optional().describe('A link button under the bot message'),
  scheduledAt: z.iso.datetime({ offset: true }).optional().describe('When to send (ISO 8601); default now. Quiet hours still apply'),
  holdoutPercent: z.number().min(0).max(50).optional().describe('Members left out at random to measure the effect (report); default 0'),
  ignoreQuietHours: z.boolean().optional().describe('Urgent notices ("the shop is closed today") go out during quiet hours too'),
});

const recipients = z.object({ telegram: z.int(), vk: z.int(), wallet: z.int(), total: z.int().describe('Members reached by at least one channel') });
const counts = z.object({ queued: z.int(), sent: z.int(), failed: z.int(), blocked: z.int(), skipped: z.int() });

export const broadcastCreated = z.object({ id: z.string(), status: z.enum(BROADCAST_STATUSES), recipients });

export const broadcastPreview = z.object({
  recipients,
  skipped: z.object({ telegram: z.int(), vk: z.int(), wallet: z.int() }).describe('Known but not sent: unreachable chats, members over the frequency cap'),
  holdout: z.int(),
  messages: z.object({
    telegram: z.object({ html: z.string(), buttons: z.array(z.string()) }),
    vk: z.object({ text: z.string(), buttons: z.array(z.string()) }),
    wallet: z.object({ offer: z.string().describe('The pass\'s offer field (cut to 500 characters)') }),
  }),
});

export const broadcastView = z.object({
  id: z.string(),
  kind: z.enum(['campaign', 'automation', 'test']),
  status: z.enum(BROADCAST_STATUSES),
  text: z.string(),
  audience: z.unknown(),
  channels: z.array(channel),
  button: z.object({ text: z.string(), url: z.string() }).nullable(),
  scheduledAt: z.string().nullable(),
  holdoutPercent: z.number(),
  ignoreQuietHours: z.boolean(),
  recipients,
  counts: z.object({ telegram: counts, vk: counts, wallet: counts }),
  holdout: z.int(),
  unsubscribed: z.int(),
  planned: z.boolean().describe('Every recipient has a delivery record'),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

export const broadcastList = z.object({ items: z.array(broadcastView), next: z.string().nullable().describe('Pass as `before` for the next page') });
export const broadcastListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  before: z.iso.datetime({ offset: true }).optional(),
  kind: z.enum(['campaign', 'automation', 'test']).optional(),
});
export const previewQuery = z.strictObject({ lang: z.enum(['ru', 'en']).default('ru').describe('Language of the buttons in the preview') });

const outcome = z.object({ members: z.int(), buyers: z.int(), purchases: z.int(), revenueKopecks: z.int(), conversion: z.number() });
export const broadcastReportView = z.object({
  id: z.string(),
  sentAt: z.string(),
  windowDays: z.int(),
  delivered: z.int(),
  unsubscribed: z.int(),
  recipients: outcome,
  holdout: outcome,
  upliftPoints: z.number().describe('Conversion of recipients minus the holdout\'s, in percentage points'),
  incrementalRevenueKopecks: z.int(),
});
