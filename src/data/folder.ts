/**
 * A generic layout for your own data: a folder holding `images/` and `masks/`, pairs matched
 * by file name stem, with an optional suffix on the mask's stem (`maskSuffix: '_segmentation'`
 * pairs `images/a.jpg` with `masks/a_segmentation.png`). Folder names are matched ignoring
 * case. Node-only (fs).
 */
import path from 'node:path';
import { DataError } from '../errors.js';
import {
  checkFolder,
  findFolder,
  layoutHint,
  pairFolders,
  subfolders,
  type PairListing,
} from './listing.js';

/** Finds and pairs the images and masks of an `images/` + `masks/` folder. */
export async function findFolderPairs(data: string, maskSuffix = ''): Promise<PairListing> {
  const root = path.resolve(data);
  await checkFolder('folder', root);
  const folders = await subfolders(root);
  const images = findFolder('folder', folders, ['images'], root);
  const masks = findFolder('folder', folders, ['masks'], root);
  if (images === undefined || masks === undefined) {
    throw new DataError(
      `folder: expected folders images/ and masks/ in ${root}${layoutHint('folder', folders)}`,
    );
  }
  return pairFolders({
    kind: 'folder',
    root,
    imageDir: path.join(root, images),
    maskDir: path.join(root, masks),
    maskStem: (stem) => `${stem}${maskSuffix}`,
  });
}
