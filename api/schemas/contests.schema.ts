import { z } from 'zod';
import { DRAW_ALGORITHM } from '../../core/contests/contest.draw.js';
import { CONTEST_CHANNELS } from '../../core/contests/contest.model.js';
import { CLOSE_REASON_MAX } from '../../core/contests/contest.lifecycle.js';
import { ENTRY_PAGE_DEFAULT, ENTRY_PAGE_MAX, MAX_PRIZES } from '../../core/contests/contest.service.js';
import { CONTEST_STATUSES } from '../../core/contests/contest.views.js';

const dateTime = z.iso.datetime({ offset: true });
const hex64 = z.string().describe('64 lowercase hex characters');

export const contestIdParams = z.strictObject({ id: z.string().min(1).max(64).describe('Contest id') });

export const createContestBody = z.strictObject({
  title: z.string().trim().min(1).max(120),
  description: z.string().max(2000).optional(),
  prizes: z.int().min(1).max(MAX_PRIZES).describe('How many winners are drawn'),
  channels: z.array(z.enum(CONTEST_CHANNELS)).min(1).max(CONTEST_CHANNELS.length).describe('Where members enter by typing their card number'),
  opensAt: dateTime.optional().describe('ISO 8601 with offset; default now'),
  closesAt: dateTime.describe('ISO 8601 with offset; entries stop then'),
  minLevel: z.string().min(1).max(32).nullable().optional().describe('A spend level id (e.g. silver): only cards at it or above may enter'),
  joinedBefore: dateTime.nullable().optional().describe('Only members who joined before this moment may enter'),
});

export const createdContest = z.object({
  id: z.string(),
  commitment: hex64.describe('SHA-256 of the secret seed, published now; the seed is revealed by the draw'),
});

const publicWinner = z.object({ place: z.int(), entryId: z.string(), masked: z.string().describe('Masked card number') });

const recordFields = {
  algorithm: z.literal(DRAW_ALGORITHM).describe('The draw spec (README, "Contests")'),
  id: z.string(),
  title: z.string(),
  description: z.string(),
  status: z.enum(CONTEST_STATUSES),
  channels: z.array(z.enum(CONTEST_CHANNELS)),
  prizes: z.int(),
  opensAt: z.string(),
  closesAt: z.string(),
  closedAt: z.string().nullable(),
  closeReason: z.string().nullable().describe('Why it closed before closesAt (fixed at creation); null when it closed then'),
  commitment: hex64.describe('SHA-256 of the secret seed, fixed at creation'),
  entriesDigest: hex64.nullable().describe('SHA-256 over the sorted entry list; set when the contest closes'),
  entryCount: z.int().nullable().describe('Entries in the frozen list; set when the contest closes'),
  seed: hex64.nullable().describe('The seed; null until the draw'),
};

export const publicContestRecord = z
  .object({ ...recordFields, winners: z.array(publicWinner).nullable().describe('Null until the draw') })
  .describe('A contest as anyone may see it; `npm run contest:verify -- <id|url>` checks it');

export const publicEntryList = z.object({
  contestId: z.string(),
  sealed: z.boolean().describe('True once the contest closed: the list is frozen and matches entriesDigest'),
  entriesDigest: hex64.nullable(),
  entries: z.array(z.object({ id: z.string(), masked: z.string() })).describe('Sorted by id; one page'),
  nextCursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last page'),
});

export const entryListQuery = z.strictObject({
  cursor: z.string().regex(/^[0-9a-f]{1,64}$/).optional().describe('nextCursor of the page before'),
  limit: z.coerce.number().int().min(1).max(ENTRY_PAGE_MAX).optional().describe(`Entries per page (default ${ENTRY_PAGE_DEFAULT}, at most ${ENTRY_PAGE_MAX})`),
});

export const closeContestBody = z
  .strictObject({
    reason: z.string().trim().min(1).max(CLOSE_REASON_MAX).optional().describe('Required before the closing time fixed at creation; published with the record'),
  })
  .nullish();

const adminWinner = publicWinner.extend({
  card: z.string(),
  memberId: z.string().nullable(),
  channel: z.enum(CONTEST_CHANNELS),
  account: z.string().describe('The social account the winner entered from, e.g. telegram:123'),
});

export const adminContestView = z.object({
  ...recordFields,
  minLevel: z.string().nullable(),
  joinedBefore: z.string().nullable(),
  entries: z.int().describe('Entries so far (live until the close)'),
  createdAt: z.string(),
  drawnAt: z.string().nullable(),
  winners: z.array(adminWinner).nullable(),
});

export const adminContestList = z.object({ items: z.array(adminContestView) });
export const contestListQuery = z.strictObject({
  open: z.enum(['true', 'false']).optional().describe('true: only contests taking entries now'),
  channel: z.enum(CONTEST_CHANNELS).optional(),
});

export const drawResult = z.object({ contest: adminContestView, winners: z.array(adminWinner) });
