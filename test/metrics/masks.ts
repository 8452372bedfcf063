/** Masks drawn as text for the hand-worked tests of the surface metrics. */
import type { BinaryMask } from '../../src/util/raster.js';

/** A mask from rows of '#' (lesion) and '.' (background), all of one length. */
export function textMask(...rows: string[]): BinaryMask {
  const height = rows.length;
  const width = rows[0].length;
  const data = new Uint8Array(height * width);
  rows.forEach((r, y) => [...r].forEach((c, x) => (data[y * width + x] = c === '#' ? 1 : 0)));
  return { data, height, width };
}
