/**
 * Photo-sized JPEGs for the page's tests and bench: a skin-like background with pixel noise
 * and a dark oval lesion whose place depends on `k`, 3000x2000 by default (a dermoscopy
 * photo's size), about 1.2 MB each.
 */
import sharp from 'sharp';

export async function photoJpeg(k: number, width = 3000, height = 2000): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  const cx = width * (0.35 + 0.03 * (k % 10));
  const cy = height * (0.4 + 0.02 * (k % 7));
  const rx = width * 0.12;
  const ry = height * 0.15;
  let seed = 1234567 + k * 7919;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = (seed >> 16) % 17;
      const d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      const shade = d < 1 ? 1 - 0.6 * (1 - d) : 1;
      const o = (y * width + x) * 3;
      data[o] = Math.min(255, (200 + noise) * shade);
      data[o + 1] = Math.min(255, (150 + noise) * shade);
      data[o + 2] = Math.min(255, (130 + noise) * shade);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}
