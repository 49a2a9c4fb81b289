/**
 * The one rule for a member's name, wherever it is typed (a chat's join, the till, the admin
 * CLI): runs of white space become one space, 1–100 characters remain, and it does not start
 * with '/' (in a chat that is a command, never a name).
 */
export const MEMBER_NAME_MAX = 100;

/** The name as stored, or null when the typed text is not a name. */
export function memberName(typed: string): string | null {
  const name = typed.replace(/\s+/g, ' ').trim();
  return name.length >= 1 && name.length <= MEMBER_NAME_MAX && !name.startsWith('/') ? name : null;
}
