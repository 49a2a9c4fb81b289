import { can, type Action } from '../../core/access/access.policy.js';
import type { StaffRole } from '../../core/users/user.roles.js';

interface NavItem {
  href: string;
  /** Key in locales/<lang>/panel.json. */
  label: string;
  action: Action;
}

/** The menu, in order; each entry shows only to the roles the access policy lets see it. */
const NAV: NavItem[] = [
  { href: '/admin', label: 'panel:nav.dashboard', action: 'dashboard.view' },
  { href: '/admin/members', label: 'panel:nav.members', action: 'members.view' },
  { href: '/admin/till', label: 'till:nav', action: 'till.operate' },
  { href: '/admin/broadcasts', label: 'panel:nav.broadcasts', action: 'broadcasts.view' },
  { href: '/admin/segments', label: 'panel:nav.segments', action: 'segments.view' },
  { href: '/admin/reports', label: 'panel:nav.reports', action: 'reports.view' },
  { href: '/admin/imports', label: 'panel:nav.imports', action: 'imports.run' },
  { href: '/admin/contests', label: 'panel:nav.contests', action: 'contests.view' },
  { href: '/admin/wallet', label: 'panel:nav.wallet', action: 'wallet.design' },
  { href: '/admin/settings', label: 'panel:nav.settings', action: 'settings.view' },
  { href: '/admin/stores', label: 'panel:nav.stores', action: 'stores.manage' },
  { href: '/admin/users', label: 'panel:nav.users', action: 'users.manage' },
  { href: '/admin/audit', label: 'panel:nav.audit', action: 'audit.view' },
];

export function navFor(role: StaffRole): { href: string; label: string }[] {
  return NAV.filter((n) => can(role, n.action)).map(({ href, label }) => ({ href, label }));
}

/** Where a user lands after signing in: the first page their role may see. */
export function homeFor(role: StaffRole): string {
  return navFor(role)[0]?.href ?? '/admin/account';
}
