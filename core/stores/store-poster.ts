import { existsSync } from 'node:fs';
import QRCode from 'qrcode';
import type { I18n, Language } from '../i18n/i18n.js';

/**
 * Fonts with Cyrillic, in the order they are looked for (the Docker image installs DejaVu:
 * fonts-dejavu-core). pdfkit's built-in Helvetica has no Cyrillic: without one of these the
 * poster is printed in English.
 */
const FONT_CANDIDATES = [
  ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'],
  ['/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf', '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf'],
  ['/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf', '/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf'],
] as const;

function cyrillicFont(): { regular: string; bold: string } | null {
  for (const [regular, bold] of FONT_CANDIDATES) if (existsSync(regular)) return { regular, bold: existsSync(bold) ? bold : regular };
  return null;
}

export interface PosterInput {
  storeName: string;
  /** The store's join link (…/join?store=<id>): the QR code and the printed address. */
  joinUrl: string;
  welcomeBonus: number;
  lang: Language;
  i18n: Pick<I18n, 't'>;
}

/**
 * A printable A4 poster for a store's counter: the shop's name, a call to action, and a large
 * QR code of its join link (its quiet zone is the page's white) with the link written under it
 * (also a clickable link in the PDF).
 */
export async function renderStorePoster(input: PosterInput): Promise<{ pdf: Buffer; lang: Language }> {
  // Loaded on first use: pdfkit and its font engine are heavy, and most processes never print.
  const { default: PDFDocument } = await import('pdfkit');
  const font = cyrillicFont();
  const lang: Language = font ? input.lang : 'en';
  const qr = QRCode.create(input.joinUrl, { errorCorrectionLevel: 'M' }).modules;
  const doc = new PDFDocument({ size: 'A4', margin: 56, info: { Title: input.i18n.t(lang, 'web:poster.title', { store: input.storeName }), Author: input.storeName } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  if (font) {
    doc.registerFont('regular', font.regular);
    doc.registerFont('bold', font.bold);
  }
  const regular = font ? 'regular' : 'Helvetica';
  const bold = font ? 'bold' : 'Helvetica-Bold';
  const width = doc.page.width - 112;
  doc.font(bold).fontSize(34).text(input.storeName, { align: 'center', width });
  doc.moveDown(0.4);
  doc.font(bold).fontSize(24).fillColor('#1a73e8').text(input.i18n.t(lang, 'web:poster.headline'), { align: 'center', width });
  doc.moveDown(0.4);
  doc.font(regular).fontSize(16).fillColor('#1c1d21').text(input.i18n.t(lang, 'web:poster.body', { points: input.i18n.t(lang, 'bot:points', { count: input.welcomeBonus }) }), { align: 'center', width });
  // The QR code as vector squares, one per dark module: sharp at any print size.
  const size = 300;
  const cell = size / qr.size;
  const x = (doc.page.width - size) / 2;
  const y = doc.y + 24;
  for (let r = 0; r < qr.size; r++) for (let c = 0; c < qr.size; c++) if (qr.get(r, c)) doc.rect(x + c * cell, y + r * cell, cell, cell);
  doc.fillColor('#000000').fill();
  doc.link(x, y, size, size, input.joinUrl);
  doc.y = y + size + 16;
  doc.font(regular).fontSize(14).text(input.i18n.t(lang, 'web:poster.scan'), 56, doc.y, { align: 'center', width });
  doc.moveDown(0.3);
  doc.font(regular).fontSize(11).fillColor('#5b5e6b').text(input.joinUrl, { align: 'center', width, link: input.joinUrl });
  doc.end();
  await done;
  return { pdf: Buffer.concat(chunks), lang };
}
