/**
 * The BUS 2017 data set B layout: a folder holding `original/` (the ultrasound images) and
 * `gt/` or `GT/` (the masks), pairs matched by file name stem (`original/000001.png` with
 * `gt/000001.png`). Folder names are matched ignoring case. Node-only (fs).
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

/** Finds and pairs the images and masks of a BUS-layout folder. */
export async function findBusPairs(data: string): Promise<PairListing> {
  const root = path.resolve(data);
  await checkFolder('bus', root);
  const folders = await subfolders(root);
  const original = findFolder('bus', folders, ['original'], root);
  const gt = findFolder('bus', folders, ['gt'], root);
  if (original === undefined || gt === undefined) {
    throw new DataError(
      `bus: expected folders original/ and gt/ (or GT/) in ${root}${layoutHint('bus', folders)}`,
    );
  }
  return pairFolders({
    kind: 'bus',
    root,
    imageDir: path.join(root, original),
    maskDir: path.join(root, gt),
  });
}
