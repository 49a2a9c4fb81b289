import type { Button, Reply } from '../flows/flow.types.js';

/** Buttons the user can press by typing their number, in the order they were shown. */
export type NumberedButtons = Button[];

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&amp;': '&' };

/** The flows' small HTML subset as terminal text: bold in ANSI when colours are on, links inline. */
export function htmlToTerminal(html: string, colour: boolean): string {
  return html
    .replace(/<a\s+href="([^"]*)"\s*>(.*?)<\/a>/gs, (_m, href: string, text: string) => (text === href ? href : `${text} (${href})`))
    .replace(/<\/?(b|strong)>/g, colour ? (t) => (t.startsWith('</') ? '\x1b[22m' : '\x1b[1m') : () => '')
    .replace(/<\/?[a-z][^>]*>/gi, '')
    .replace(/&(lt|gt|quot|#39|amp);/g, (e) => ENTITIES[e] ?? e);
}

/**
 * Renders replies as terminal lines. Every button (menu, inline, link) gets a number; the
 * returned list maps numbers back to buttons. A menu stays valid until the next menu.
 */
export function renderReplies(replies: Reply[], opts: { colour: boolean; savedImage?: (r: Reply) => string | undefined }): { lines: string[]; buttons: NumberedButtons | undefined; contact: boolean } {
  const lines: string[] = [];
  let buttons: NumberedButtons | undefined;
  let contact = false;
  for (const r of replies) {
    lines.push(...htmlToTerminal(r.text, opts.colour).split('\n').map((l) => `  ${l}`));
    const imagePath = r.image ? opts.savedImage?.(r) : undefined;
    if (imagePath) lines.push(`  [QR: ${imagePath}]`);
    const kb = r.keyboard;
    if (!kb || kb.kind === 'remove') continue;
    if (kb.kind === 'contact') {
      contact = true;
      lines.push(`  [/contact +79991234567 — ${htmlToTerminal(kb.label, false)}]`);
    }
    const rows = kb.kind === 'contact' ? (kb.rows ?? []) : kb.rows;
    if (rows.length === 0) continue;
    buttons = rows.flat();
    lines.push(buttons.map((b, i) => `[${i + 1}] ${b.url ? `${b.label} (${b.url})` : b.label}`).join('  '));
  }
  return { lines, buttons, contact };
}
