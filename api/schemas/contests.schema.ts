import { z } from 'zod';
import { DRAW_ALGORITHM } from '../../core/contests/contest.draw.js';
import { CONTEST_CHANNELS } from '../../core/contests/contest.model.js';
import { MAX_PRIZES } from '../../core/contests/contest.service.js';
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
  entries: z.array(z.object({ id: z.string(), masked: z.string() })).describe('Sorted by id'),
});

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
