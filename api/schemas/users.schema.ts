import { z } from 'zod';
import { STAFF_ROLES } from '../../core/users/user.roles.js';

export const userView = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(STAFF_ROLES),
  storeId: z.string().nullable().describe('The store of a cashier; null for the other roles'),
  active: z.boolean(),
  createdAt: z.date(),
});

export const createUserBody = z.strictObject({
  email: z.string().max(254).describe('Sign-in e-mail (case-insensitive)'),
  password: z.string().max(256).describe('At least 10 characters; stored as a scrypt hash'),
  role: z.enum(STAFF_ROLES),
  storeId: z.string().max(64).optional().describe('Required for a cashier: the store whose till they work'),
});

export const changeUserBody = z.strictObject({
  role: z.enum(STAFF_ROLES).optional(),
  storeId: z.string().max(64).nullable().optional(),
  active: z.boolean().optional().describe('false signs the user out everywhere and refuses sign-in'),
  password: z.string().max(256).optional().describe('A new password (signs the user out everywhere)'),
});

export const userIdParams = z.strictObject({ id: z.string().min(1).max(64) });

export const auditQuery = z.strictObject({
  before: z.string().max(64).optional().describe('`next` of the previous page'),
  limit: z.coerce.number().int().min(1).max(200).optional(),
  action: z.string().max(100).optional(),
});

export const auditPage = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      at: z.date(),
      actor: z.string(),
      action: z.string(),
      target: z.string().nullable(),
      before: z.unknown(),
      after: z.unknown(),
      ip: z.string().nullable(),
    }),
  ),
  next: z.string().nullable(),
});
