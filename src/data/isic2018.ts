/**
 * The ISIC 2018 Task 1 layout: `ISIC2018_Task1-2_Training_Input/ISIC_nnnnnnn.jpg` with masks
 * in `ISIC2018_Task1_Training_GroundTruth/ISIC_nnnnnnn_segmentation.png`. `data` may be the
 * folder holding both, or either of the two folders themselves. The Validation and Test
 * partitions (`..._Validation_Input` / `..._Validation_GroundTruth`) work the same way; when a
 * folder holds several partitions, Training is used. The `ATTRIBUTION.txt` and `LICENSE.txt`
 * files of the official download are skipped with a warning. Node-only (fs).
 */
import path from 'node:path';
import { DataError } from '../errors.js';
import { listFew } from '../util/messages.js';
import { checkFolder, layoutHint, pairFolders, subfolders, type PairListing } from './listing.js';

const INPUT_RE = /^ISIC2018_Task1(?:-2)?_([A-Za-z]+)_Input$/;
const TRUTH_RE = /^ISIC2018_Task1(?:-2)?_([A-Za-z]+)_GroundTruth$/;

/** The suffix of an ISIC 2018 mask's stem. */
export const ISIC_MASK_SUFFIX = '_segmentation';

/** Finds and pairs the images and masks of an ISIC 2018 Task 1 folder. */
export async function findIsicPairs(data: string): Promise<PairListing> {
  let root = path.resolve(data);
  await checkFolder('isic2018', root);
  let partition: string | undefined;
  const base = path.basename(root);
  const own = INPUT_RE.exec(base) ?? TRUTH_RE.exec(base);
  if (own) {
    partition = own[1];
    root = path.dirname(root);
  }
  const folders = await subfolders(root);
  const inputs = new Map<string, string>();
  const truths = new Map<string, string>();
  for (const f of folders) {
    const i = INPUT_RE.exec(f);
    if (i) inputs.set(i[1], f);
    const t = TRUTH_RE.exec(f);
    if (t) truths.set(t[1], f);
  }
  const both = [...inputs.keys()].filter((p) => truths.has(p));
  if (partition === undefined) {
    if (both.includes('Training')) partition = 'Training';
    else if (both.length === 1) partition = both[0];
    else if (both.length > 1) {
      throw new DataError(
        `isic2018: ${root} holds several partitions (${both.join(', ')}) and no Training one; ` +
          'point --data at the _Input folder of the one to use',
      );
    }
  }
  const input = partition !== undefined ? inputs.get(partition) : undefined;
  const truth = partition !== undefined ? truths.get(partition) : undefined;
  if (input === undefined || truth === undefined) {
    const missing = [
      input === undefined ? `ISIC2018_Task1-2_${partition ?? 'Training'}_Input/` : undefined,
      truth === undefined ? `ISIC2018_Task1_${partition ?? 'Training'}_GroundTruth/` : undefined,
    ].filter((m): m is string => m !== undefined);
    throw new DataError(
      `isic2018: expected ${listFew(missing)} in ${root}${layoutHint('isic2018', folders)}`,
    );
  }
  return pairFolders({
    kind: 'isic2018',
    root,
    imageDir: path.join(root, input),
    maskDir: path.join(root, truth),
    maskStem: (stem) => `${stem}${ISIC_MASK_SUFFIX}`,
  });
}
