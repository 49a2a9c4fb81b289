/**
 * The one image check of pass templates: a PNG (signature, then an IHDR chunk first, as the
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
