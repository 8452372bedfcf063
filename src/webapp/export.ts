/**
 * What the page hands out: each mask as a PNG (`ftunet predict`'s: 8-bit grey, 0 and 255, at
 * the image's size) and every mask with `areas.csv` as one zip. The entry names and the CSV
 * come from `browser/masks_zip.ts` (names made safe to extract; the CSV written by
 * `util/csv.ts`'s `csvDocument`). Pure: no DOM.
 */
import { zipSync } from 'fflate';
import { maskEntryName, masksZipFiles } from '../browser/masks_zip.js';
import { encodeMaskPng } from '../browser/png.js';
import type { BinaryMask } from '../util/raster.js';
import { lesionPixels, type ImageResult } from './state.js';

/**
 * The PNG of each mask made so far: a mask is made again (a new object) when its threshold
 * changes, so a PNG is encoded once per mask however often it is downloaded.
 */
const PNGS = new WeakMap<BinaryMask, Uint8Array>();

/** The mask's PNG (made once per mask: a large image takes a while). */
export function maskPng(mask: BinaryMask): Uint8Array {
  let png = PNGS.get(mask);
  if (png === undefined) {
    png = encodeMaskPng(mask);
    PNGS.set(mask, png);
  }
  return png;
}

/** The file name of one result's mask download: `<safe stem>_mask.png`, as in the zip. */
export function maskFileName(result: Pick<ImageResult, 'stem'>): string {
  return maskEntryName(result.stem, new Set());
}

/** Every result's mask and `areas.csv` (file, mask, size, threshold, lesion area) as a zip. */
export function masksZip(results: readonly ImageResult[]): Uint8Array {
  const masks = results.map((r) => ({
    name: r.name,
    stem: r.stem,
    threshold: r.threshold,
    pixels: lesionPixels(r.mask),
    width: r.image.width,
    height: r.image.height,
    png: maskPng(r.mask),
  }));
  return zipSync(masksZipFiles(masks), { level: 6 });
}
