/**
 * What the page hands out: every image's mask in force (the person's correction, else the
 * model's: `ftunet predict`'s PNG, 8-bit grey, 0 and 255, at the image's size) with
 * `areas.csv`, as the entries of one zip. The entry names and the CSV come from
 * `browser/masks_zip.ts` (names made safe to extract; the CSV written by `util/csv.ts`'s
 * `csvDocument`). No DOM.
 */
import { masksZipFiles } from '../browser/masks_zip.js';
import { currentMask, type WorkImage } from './work.js';

/** The zip's entries: each image's mask in force as `<stem>_mask.png`, and `areas.csv`. */
export async function masksZipEntries(
  images: readonly WorkImage[],
): Promise<Record<string, Uint8Array>> {
  const masks = [];
  for (const image of images) {
    const mask = currentMask(image);
    if (mask === undefined) continue;
    masks.push({
      name: image.name,
      stem: image.stem,
      width: image.width,
      height: image.height,
      threshold: image.settings.threshold,
      pixels: mask.pixels,
      png: new Uint8Array(await mask.png.arrayBuffer()),
    });
  }
  return masksZipFiles(masks);
}
