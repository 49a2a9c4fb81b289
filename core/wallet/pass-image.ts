import sharp from 'sharp';
import { DomainError } from '../shared/errors.js';

/**
 * The image checks of pass templates. The logo: a PNG (signature, then an IHDR chunk first, as the
 * format requires) whose pixel size Wallet can show. Wallet draws the logo in a strip of at
 * most 160 × 50 points, so its @2x image is at most 320 × 100 pixels; a bigger one is refused
 * rather than silently cropped on the phone.
 */
export const LOGO_MAX = { width: 320, height: 100 } as const;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The image's size from its IHDR chunk, or null when the bytes are not a PNG. */
export function pngSize(buf: Uint8Array): { width: number; height: number } | null {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  // signature (8) + length (4) + "IHDR" (4) + width (4) + height (4)
  if (b.length < 24 || !b.subarray(0, 8).equals(PNG_SIGNATURE) || b.readUInt32BE(8) !== 13 || b.toString('ascii', 12, 16) !== 'IHDR') return null;
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  return width > 0 && height > 0 ? { width, height } : null;
}

/** Why a logo cannot go on a pass, or null when it can. */
export function logoProblem(buf: Uint8Array): string | null {
  const size = pngSize(buf);
  if (!size) return 'logoPng must be a PNG image (base64)';
  if (size.width > LOGO_MAX.width || size.height > LOGO_MAX.height) {
    return `logoPng is ${size.width} × ${size.height} pixels; Wallet shows at most ${LOGO_MAX.width} × ${LOGO_MAX.height}`;
  }
  return null;
}

/**
 * The strip image of a storeCard: drawn behind the primary fields across the whole width of
 * the pass, 375 × 123 points (Apple's size for store cards), so 750 × 246 px at @2x and
 * 1125 × 369 px at @3x. Wallet scales and crops an image of another shape itself; we do it
 * once on upload instead, so what the preview shows is what the phone shows.
 */
export const STRIP_SIZES = [
  { file: 'strip.png', width: 375, height: 123 },
  { file: 'strip@2x.png', width: 750, height: 246 },
  { file: 'strip@3x.png', width: 1125, height: 369 },
] as const;
export type StripFile = (typeof STRIP_SIZES)[number]['file'];
export type StripFiles = Record<StripFile, Buffer>;
/** An upload larger than this is refused (a phone photo is well under it). */
export const STRIP_UPLOAD_MAX = 10 * 1024 * 1024;
/** Decoding stops above this many pixels: a small file can still claim a huge image. */
const STRIP_MAX_PIXELS = 50_000_000;
const JPEG_SIGNATURE = Buffer.from([0xff, 0xd8, 0xff]);

function stripProblem(reason: string, message: string, extra: Record<string, unknown> = {}): DomainError {
  return new DomainError('validation_failed', message, { field: 'strip', reason, ...extra });
}

/**
 * A PNG or JPEG upload → the three strip PNGs, cropped to the strip's shape around the centre
 * (EXIF rotation applied). They are quantized to 256 colours: every balance change sends the
 * whole pass to the phone again, and a photo at @3x is several times smaller that way.
 */
export async function stripImages(upload: Uint8Array): Promise<StripFiles> {
  const buf = Buffer.from(upload.buffer, upload.byteOffset, upload.byteLength);
  if (buf.length > STRIP_UPLOAD_MAX) throw stripProblem('strip_too_large', `the strip image is over ${STRIP_UPLOAD_MAX / 1024 / 1024} MB`);
  if (!buf.subarray(0, 8).equals(PNG_SIGNATURE) && !buf.subarray(0, 3).equals(JPEG_SIGNATURE)) throw stripProblem('strip_format', 'the strip image must be a PNG or a JPEG');
  const image = sharp(buf, { limitInputPixels: STRIP_MAX_PIXELS, failOn: 'error' }).rotate();
  let meta;
  try {
    meta = await image.metadata();
  } catch {
    throw stripProblem('strip_unreadable', 'the strip image cannot be read');
  }
  // Orientations 5–8 turn the picture a quarter: its width is then the stored height.
  const turned = (meta.orientation ?? 1) >= 5;
  const width = (turned ? meta.height : meta.width) ?? 0;
  const height = (turned ? meta.width : meta.height) ?? 0;
  if (width * height > STRIP_MAX_PIXELS) throw stripProblem('strip_too_large', `the strip image is ${width} × ${height} pixels; at most ${STRIP_MAX_PIXELS / 1_000_000} megapixels`);
  const [x1] = STRIP_SIZES;
  if (width < x1.width || height < x1.height) {
    throw stripProblem('strip_too_small', `the strip image is ${width} × ${height} pixels; it needs at least ${x1.width} × ${x1.height}`, { width, height });
  }
  try {
    const out = await Promise.all(
      STRIP_SIZES.map(async (s) => [s.file, await image.clone().resize(s.width, s.height, { fit: 'cover', position: 'centre' }).png({ palette: true, quality: 90, compressionLevel: 9 }).toBuffer()] as const),
    );
    return Object.fromEntries(out) as StripFiles;
  } catch {
    throw stripProblem('strip_unreadable', 'the strip image cannot be read');
  }
}
