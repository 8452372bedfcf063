/**
 * The in-memory data set every reader returns (and the synthetic generators too).
 *
 * Representation, chosen so that 2,594 ISIC images at 192x256x3 fit in about half a gigabyte:
 * - `names[i]`: the image's file name inside its image folder (e.g. `000001.png`,
 *   `ISIC_0000000.jpg`); unique; the key that split files use.
 * - `originalSizes[i]`: [rows, cols] of the image as stored (after EXIF orientation); the
 *   mask has the same size.
 * - `images[i]`: 8-bit, `inputSize[0] x inputSize[1] x channels`, row-major, channels last.
 * - `masks[i]`: 8-bit, `inputSize[0] x inputSize[1]`, values 0 (background) and 1 (lesion),
 *   always resized with nearest neighbour.
 * - `lesionArea[i]`: the lesion's fraction of the image at the original size.
 * - `layouts[i]`: how the image file stored its pixels ('grey', 'rgb', 'palette', ...).
 * Images and masks stay 8-bit; `makeBatch` (batch.ts) builds float32 tensors for a list of
 * indices. `loadOriginalMask(i)` reads (or regenerates) the full-size mask for evaluation at
 * the original resolution, and `loadOriginalImage(i)` the full-size image.
 *
 * Pure types: no Node-only API.
 */
import { UserError } from '../errors.js';
import type { BinaryMask, Interpolation, RawImage } from '../util/raster.js';

/** Where a data set came from. */
export type DatasetSourceKind = 'bus' | 'isic2018' | 'folder' | 'synthetic-bus' | 'synthetic-isic';

export interface DatasetSource {
  kind: DatasetSourceKind;
  /** The data folder (absolute), for data read from disk. */
  root?: string;
  /** For synthetic data made in memory: the seed. */
  seed?: number;
  /** Whether the arrays came from the preprocessing cache. */
  fromCache?: boolean;
  /** The cache file used or written, if any. */
  cacheFile?: string;
}

/** Paths (absolute) of an item's image and mask files. */
export interface ItemFiles {
  image: string;
  mask: string;
}

export interface SegmentationDataset {
  readonly source: DatasetSource;
  /** Number of items. */
  readonly count: number;
  /** [rows, cols] of every image and mask in `images` / `masks`. */
  readonly inputSize: readonly [number, number];
  /** Channels of every image in `images`: 1 (luminance) or 3 (RGB). */
  readonly channels: 1 | 3;
  /** How images were resized (masks always use nearest neighbour). */
  readonly interpolation: Interpolation;
  readonly names: readonly string[];
  readonly originalSizes: ReadonlyArray<readonly [number, number]>;
  readonly layouts: readonly string[];
  readonly lesionArea: readonly number[];
  readonly images: readonly Uint8Array[];
  readonly masks: readonly Uint8Array[];
  /** The files of each item, for data read from disk. */
  readonly files?: readonly ItemFiles[];
  /** The binarised mask of item `index` at its original size. */
  loadOriginalMask(index: number): Promise<BinaryMask>;
  /** The image of item `index` at its original size, with `channels` channels. */
  loadOriginalImage(index: number): Promise<RawImage>;
}

/** Throws unless `index` is an item of a data set of `count` items. */
export function checkIndex(index: number, count: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new UserError(`item index ${index} is outside the data set (0 to ${count - 1})`);
  }
}

/** A map from item name to index. */
export function indexByName(dataset: Pick<SegmentationDataset, 'names'>): Map<string, number> {
  return new Map(dataset.names.map((n, i) => [n, i]));
}
