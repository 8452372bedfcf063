/**
 * Comparing mask PNGs in the page's tests: a mask's grey pixels, and the share of pixels on
 * which two masks agree (the tests require at least 99.9% against `ftunet predict`'s).
 */
import sharp from 'sharp';

/** Grey pixels of a mask PNG (0/255) with its size. */
export async function readMask(
  file: string | Buffer,
): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(file)
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The share of pixels on which two masks agree (0 when their sizes differ). */
export async function agreement(a: string | Buffer, b: string | Buffer): Promise<number> {
  const [x, y] = await Promise.all([readMask(a), readMask(b)]);
  if (x.width !== y.width || x.height !== y.height) return 0;
  let same = 0;
  for (let i = 0; i < x.data.length; i++) if (x.data[i] === y.data[i]) same++;
  return same / x.data.length;
}
