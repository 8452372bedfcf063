/**
 * What the page hands out: each mask as a PNG (`ftunet predict`'s: 8-bit grey, 0 and 255, at
 * the image's size, encoded in the worker) and every mask with `areas.csv` as one zip. The entry names and the CSV
 * come from `browser/masks_zip.ts` (names made safe to extract; the CSV written by
 * `util/csv.ts`'s `csvDocument`). Pure: no DOM.
 */
import { zipSync } from 'fflate';
import { maskEntryName, masksZipFiles } from '../browser/masks_zip.js';
import type { ImageResult } from './state.js';

/** The file name of one result's mask download: `<safe stem>_mask.png`, as in the zip. */
export function maskFileName(result: Pick<ImageResult, 'stem'>): string {
  return maskEntryName(result.stem, new Set());
}

/**
 * Every result's mask (its PNG, made by the worker) and `areas.csv` (file, mask, size,
 * threshold, lesion area) as a zip.
 */
export function masksZip(results: readonly ImageResult[]): Uint8Array {
  const masks = results.map((r) => ({
    name: r.name,
    stem: r.stem,
    threshold: r.threshold,
    pixels: r.mask.pixels,
    width: r.width,
    height: r.height,
    png: r.mask.png,
  }));
  return zipSync(masksZipFiles(masks), { level: 6 });
}
