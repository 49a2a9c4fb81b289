import type { StaffRole } from '../users/user.roles.js';

/**
 * Who may do what: the one table the panel, the admin API (with a session) and the web till ask.
 * Support finds members, reads their history and adjusts with a reason; it gets no broadcasts,
 * settings or keys (issue 14). A cashier sees only its store's till (issue 15).
 */
const POLICY = {
  'dashboard.view': ['owner', 'marketer'],
  'members.view': ['owner', 'marketer', 'support'],
  'members.adjust': ['owner', 'marketer', 'support'],
  'members.manage': ['owner', 'marketer', 'support'],
  'members.erase': ['owner', 'support'],
  'broadcasts.view': ['owner', 'marketer'],
  'broadcasts.send': ['owner', 'marketer'],
  'segments.view': ['owner', 'marketer'],
  'segments.manage': ['owner', 'marketer'],
  'reports.view': ['owner', 'marketer'],
  'imports.run': ['owner', 'marketer'],
  'contests.view': ['owner', 'marketer'],
  'contests.manage': ['owner', 'marketer'],
  'wallet.design': ['owner', 'marketer'],
  'settings.view': ['owner', 'marketer'],
  'settings.edit': ['owner'],
  'stores.manage': ['owner'],
  'users.manage': ['owner'],
  'audit.view': ['owner'],
  'till.operate': ['owner', 'cashier'],
  /** The admin API called with a panel session instead of the admin token. */
  'admin.api': ['owner'],
} as const satisfies Record<string, readonly StaffRole[]>;

export type Action = keyof typeof POLICY;
export function can(role: StaffRole, action: Action): boolean {
  return (POLICY[action] as readonly StaffRole[]).includes(role);
}
