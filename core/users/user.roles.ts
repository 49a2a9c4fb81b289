/** Staff roles of the web panel; a cashier is tied to one store (issue 15's web till). */
export const STAFF_ROLES = ['owner', 'marketer', 'support', 'cashier'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export function isStaffRole(value: unknown): value is StaffRole {
  return typeof value === 'string' && (STAFF_ROLES as readonly string[]).includes(value);
}
