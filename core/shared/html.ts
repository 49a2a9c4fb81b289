/**
 * Escapes a value for the small HTML subset the bot texts use (<b>, <i>, <code>, <a href>) and
 * for a pass's attributed values: every value that comes from a person (names, typed text) or
 * an admin (level names, links) goes through here before it is put into markup.
 */
export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
