/**
 * Loading a data set from disk: find the pairs (bus.ts, isic2018.ts, folder.ts), then take the
 * resized 8-bit arrays from the preprocessing cache (cache.ts) or decode every file, checking
 * that each is readable and that each mask has its image's size. Every problem ends in one
 * `DataError` naming the files (the first few and a count); files that are not images are
 * skipped with one warning. Nothing is written into the data set folder. Node-only.
 */
import os from 'node:os';
import path from 'node:path';
import { realpathSync } from 'node:fs';
import { DataError, UserError } from '../errors.js';
import {
  checkMaxPixels,
  decodeImage,
  decodeMask,
  decodeMemory,
  DEFAULT_MAX_PIXELS,
  ImageReadError,
  openImage,
  type OpenedImage,
} from '../io/image.js';
import { mapLimit } from '../util/concurrency.js';
import {
  lesionFraction,
  type Interpolation,
  INTERPOLATIONS,
  type RawImage,
} from '../util/raster.js';
import { findBusPairs } from './bus.js';
import {
  cacheFileName,
  computeCacheKey,
  defaultCacheDir,
  readCache,
  writeCache,
  type CachedArrays,
} from './cache.js';
import { checkIndex, type SegmentationDataset } from './dataset.js';
import { findFolderPairs } from './folder.js';
import { findIsicPairs } from './isic2018.js';
import { preprocess, preprocessMask } from './recipe.js';
import type { ImagePair, PairListing } from './listing.js';
import { listFew, plural } from '../util/messages.js';
import { checkInputShape, datasetPreset, DATASET_LAYOUTS, type DatasetLayout } from './presets.js';

/** Progress of `loadDataset`. */
export interface LoadProgress {
  /** 'decode': decoding files; 'cache-read' / 'cache-write': using the cache. */
  phase: 'decode' | 'cache-read' | 'cache-write';
  done: number;
  total: number;
}

export interface LoadDatasetOptions {
  /** The layout: 'bus', 'isic2018' or 'folder'. Required. */
  dataset: DatasetLayout;
  /** The data folder. Required. */
  data: string;
  /** [rows, cols] of the arrays. Default: the layout's preset (bus 128x128, isic2018 192x256). */
  inputSize?: readonly [number, number];
  /** 1 (luminance) or 3 (RGB). Default: the layout's preset (bus 1, isic2018 3, folder 3). */
  channels?: 1 | 3;
  /** How images are resized; masks always use nearest. Default 'nearest' (as the reference). */
  interpolation?: Interpolation;
  /** For 'folder': the suffix of a mask's stem (`_segmentation`). Default '' (same stem). */
  maskSuffix?: string;
  /**
   * The cache folder, or `false` for no cache. Default `defaultCacheDir()`
   * (`$XDG_CACHE_HOME/focal-tversky-unet` or `~/.cache/focal-tversky-unet`).
   */
  cache?: string | false;
  /**
   * Pairs decoded at the same time at most. Default: the number of CPUs, from 2 to 8. Memory
   * bounds them too: a pair decodes once its estimated bytes fit in the budget that the
   * process's decodes share (`decodeMemory`, 1 GiB), so large images decode fewer at a time.
   */
  concurrency?: number;
  /**
   * The most pixels an image or mask may have, read from its header before it is decoded; a
   * larger file is reported as unreadable, naming its size. Default `DEFAULT_MAX_PIXELS`
   * (100 megapixels).
   */
  maxPixels?: number;
  /** Receives each warning (skipped files, a damaged cache, an unwritable cache). Default: none. */
  onWarning?: (message: string) => void;
  /** Receives progress, about every 1% of the items. Default: none. */
  onProgress?: (progress: LoadProgress) => void;
}

/** Finds and pairs the files of a data set without decoding them (exhaustive over layouts). */
export async function listDatasetPairs(
  dataset: DatasetLayout,
  data: string,
  maskSuffix = '',
): Promise<PairListing> {
  switch (dataset) {
    case 'bus':
      return findBusPairs(data);
    case 'isic2018':
      return findIsicPairs(data);
    case 'folder':
      return findFolderPairs(data, maskSuffix);
    default:
      throw new UserError(
        `unknown data set '${String(dataset)}'; expected one of ${DATASET_LAYOUTS.join(', ')}`,
      );
  }
}

/** Whether `inner` is `outer` or inside it (after resolving links where the paths exist). */
function isInside(inner: string, outer: string): boolean {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  // A cache folder that does not exist yet: resolve its nearest existing ancestor.
  let probe = path.resolve(inner);
  let suffix = '';
  while (probe !== path.dirname(probe)) {
    try {
      realpathSync(probe);
      break;
    } catch {
      suffix = path.join(path.basename(probe), suffix);
      probe = path.dirname(probe);
    }
  }
  const rel = path.relative(real(outer), path.join(real(probe), suffix));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Loads a data set: pairs, checks, decodes (or reads the cache), resizes. See the options for
 * defaults. Throws `DataError` for a malformed data set, `UserError` for bad options.
 */
export async function loadDataset(options: LoadDatasetOptions): Promise<SegmentationDataset> {
  const kind = options.dataset;
  const preset = datasetPreset(kind);
  const inputSize = options.inputSize ?? preset.inputSize;
  const channels = options.channels ?? preset.channels;
  const interpolation = options.interpolation ?? 'nearest';
  const maskSuffix = options.maskSuffix ?? '';
  const concurrency = options.concurrency ?? Math.min(8, Math.max(2, os.availableParallelism()));
  const warn = options.onWarning ?? (() => undefined);
  const progress = options.onProgress ?? (() => undefined);
  const maxPixels = checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS);
  checkInputShape(inputSize, channels);
  if (!INTERPOLATIONS.includes(interpolation)) {
    throw new UserError(
      `unknown interpolation '${String(interpolation)}'; expected one of ` +
        INTERPOLATIONS.join(', '),
    );
  }
  if (maskSuffix !== '' && kind !== 'folder') {
    throw new UserError(`a mask suffix applies to the 'folder' layout only, not '${kind}'`);
  }

  const listing = await listDatasetPairs(kind, options.data, maskSuffix);
  if (listing.skipped.length > 0) {
    warn(
      `${kind}: skipped ${plural(listing.skipped.length, 'entry', 'entries')} that ` +
        `${listing.skipped.length === 1 ? 'is' : 'are'} not an image: ${listFew(listing.skipped)}`,
    );
  }

  const [h, w] = inputSize;
  const imageBytes = h * w * channels;
  const maskBytes = h * w;
  const keyInput = { kind, inputSize, channels, interpolation, pairs: listing.pairs };
  let cacheFile: string | undefined;
  let key = '';
  if (options.cache !== false) {
    const cacheDir = path.resolve(options.cache ?? defaultCacheDir());
    if (isInside(cacheDir, listing.root)) {
      throw new UserError(
        `the cache folder ${cacheDir} is inside the data set folder ${listing.root}; ` +
          'nothing is written into a data set: choose a cache folder outside it',
      );
    }
    key = await computeCacheKey(keyInput);
    cacheFile = path.join(cacheDir, cacheFileName(keyInput, key));
    progress({ phase: 'cache-read', done: 0, total: listing.pairs.length });
    const cached = await readCache(cacheFile, { key, imageBytes, maskBytes });
    if (cached.status === 'hit' && sameNames(cached.arrays.names, listing)) {
      progress({ phase: 'cache-read', done: listing.pairs.length, total: listing.pairs.length });
      return fileDataset(listing, cached.arrays, {
        inputSize,
        channels,
        interpolation,
        maxPixels,
        cacheFile,
        fromCache: true,
      });
    }
    if (cached.status === 'damaged') {
      warn(`cache file ${cacheFile} is damaged (${cached.reason}); rebuilding it`);
    }
  }

  const arrays = await decodeAll(listing, {
    inputSize,
    channels,
    interpolation,
    concurrency,
    maxPixels,
    warn,
    progress,
  });
  if (cacheFile !== undefined) {
    progress({ phase: 'cache-write', done: 0, total: listing.pairs.length });
    try {
      await writeCache(cacheFile, { key, arrays });
    } catch (err) {
      warn(
        `cannot write the cache file ${cacheFile} (${(err as Error).message}); continuing without it`,
      );
    }
    progress({ phase: 'cache-write', done: listing.pairs.length, total: listing.pairs.length });
  }
  return fileDataset(listing, arrays, {
    inputSize,
    channels,
    interpolation,
    maxPixels,
    cacheFile,
    fromCache: false,
  });
}

function sameNames(names: readonly string[], listing: PairListing): boolean {
  return (
    names.length === listing.pairs.length && names.every((n, i) => n === listing.pairs[i].name)
  );
}

interface DecodeOptions {
  inputSize: readonly [number, number];
  channels: 1 | 3;
  interpolation: Interpolation;
  concurrency: number;
  maxPixels: number;
  warn: (message: string) => void;
  progress: (p: LoadProgress) => void;
}

/**
 * Decodes every pair into two contiguous blocks (one allocation each, so memory is exactly
 * count x bytes per item) and collects every unreadable file and size mismatch before failing.
 */
async function decodeAll(listing: PairListing, o: DecodeOptions): Promise<CachedArrays> {
  const { pairs, root, kind } = listing;
  const n = pairs.length;
  const [h, w] = o.inputSize;
  const imageBytes = h * w * o.channels;
  const maskBytes = h * w;
  const imageBlock = new Uint8Array(n * imageBytes);
  const maskBlock = new Uint8Array(n * maskBytes);
  const originalSizes: [number, number][] = new Array(n);
  const layouts: string[] = new Array(n);
  const lesionArea: number[] = new Array(n);
  const unreadable: string[] = [];
  const mismatched: string[] = [];
  const belowThreshold: string[] = [];
  const rel = (p: string): string => path.relative(root, p);
  const recipe = {
    inputShape: [h, w, o.channels] as const,
    interpolation: o.interpolation,
  };
  let done = 0;
  const step = Math.max(1, Math.floor(n / 100));

  // Each pair: both headers read and checked, then both files decoded and resized while the
  // pair holds its estimated bytes of the shared memory budget.
  const read = { maxPixels: o.maxPixels };
  await mapLimit(pairs, o.concurrency, async (pair, i) => {
    const [imageFile, maskFile] = await Promise.all([
      openImage(pair.image, read).catch((err: unknown) => noteReadError(err, rel(pair.image))),
      openImage(pair.mask, read).catch((err: unknown) => noteReadError(err, rel(pair.mask))),
    ]);
    const bytes = (imageFile?.decodeBytes ?? 0) + (maskFile?.decodeBytes ?? 0);
    await decodeMemory.run(bytes, () => decodePair(pair, i, imageFile, maskFile));
    done++;
    if (done % step === 0 || done === n) o.progress({ phase: 'decode', done, total: n });
  });

  async function decodePair(
    pair: ImagePair,
    i: number,
    imageFile: OpenedImage | undefined,
    maskFile: OpenedImage | undefined,
  ): Promise<void> {
    const [image, mask] = await Promise.all([
      imageFile
        ?.decodeImage(o.channels)
        .catch((err: unknown) => noteReadError(err, rel(pair.image))),
      maskFile?.decodeMask().catch((err: unknown) => noteReadError(err, rel(pair.mask))),
    ]);
    if (image === undefined || mask === undefined) return;
    if (image.height !== mask.height || image.width !== mask.width) {
      mismatched.push(
        `${pair.name} (image ${image.height}x${image.width}, mask ${mask.height}x${mask.width})`,
      );
    } else if (unreadable.length === 0 && mismatched.length === 0) {
      // Steps 1 and 2 of the prediction recipe (decoded with the channels already), and the
      // mask as the network sees it.
      imageBlock.set(preprocess(recipe, image).data, i * imageBytes);
      maskBlock.set(preprocessMask(recipe, mask).data, i * maskBytes);
      originalSizes[i] = [image.height, image.width];
      layouts[i] = image.layout;
      lesionArea[i] = lesionFraction(mask.data);
      if (mask.maxValue > 0 && lesionArea[i] === 0) {
        belowThreshold.push(`${rel(pair.mask)} (max ${mask.maxValue})`);
      }
    }
  }

  function noteReadError(err: unknown, file: string): undefined {
    if (!(err instanceof ImageReadError)) throw err;
    unreadable.push(`${file} (${err.reason})`);
    return undefined;
  }

  const problems: string[] = [];
  if (unreadable.length > 0) {
    problems.push(
      `cannot read ${plural(unreadable.length, 'file')}: ${listFew(unreadable.sort(), 3)}`,
    );
  }
  if (mismatched.length > 0) {
    problems.push(
      `${plural(mismatched.length, 'mask')} ${mismatched.length === 1 ? 'differs' : 'differ'} in ` +
        `size from ${mismatched.length === 1 ? 'its image' : 'their images'}: ${listFew(mismatched.sort(), 3)}`,
    );
  }
  if (problems.length > 0) throw new DataError(`${kind}: ${problems.join('; ')}`);
  if (belowThreshold.length > 0) {
    o.warn(
      `${kind}: ${plural(belowThreshold.length, 'mask')} ${belowThreshold.length === 1 ? 'has' : 'have'} ` +
        `non-zero values that all fall below the lesion threshold (half of 255 or 65535) and ` +
        `${belowThreshold.length === 1 ? 'is' : 'are'} empty: ${listFew(belowThreshold.sort(), 3)}`,
    );
  }
  const images: Uint8Array[] = [];
  const masks: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    images.push(imageBlock.subarray(i * imageBytes, (i + 1) * imageBytes));
    masks.push(maskBlock.subarray(i * maskBytes, (i + 1) * maskBytes));
  }
  return { names: pairs.map((p) => p.name), originalSizes, layouts, lesionArea, images, masks };
}

interface FileDatasetOptions {
  inputSize: readonly [number, number];
  channels: 1 | 3;
  interpolation: Interpolation;
  maxPixels: number;
  cacheFile?: string;
  fromCache: boolean;
}

function fileDataset(
  listing: PairListing,
  arrays: CachedArrays,
  o: FileDatasetOptions,
): SegmentationDataset {
  const files = listing.pairs.map((p) => ({ image: p.image, mask: p.mask }));
  return {
    source: {
      kind: listing.kind,
      root: listing.root,
      fromCache: o.fromCache,
      ...(o.cacheFile !== undefined ? { cacheFile: o.cacheFile } : {}),
    },
    count: files.length,
    inputSize: [o.inputSize[0], o.inputSize[1]],
    channels: o.channels,
    interpolation: o.interpolation,
    names: arrays.names,
    originalSizes: arrays.originalSizes,
    layouts: arrays.layouts,
    lesionArea: arrays.lesionArea,
    images: arrays.images,
    masks: arrays.masks,
    files,
    async loadOriginalMask(i) {
      checkIndex(i, files.length);
      const m = await decodeMask(files[i].mask, { maxPixels: o.maxPixels });
      return { data: m.data, height: m.height, width: m.width };
    },
    async loadOriginalImage(i): Promise<RawImage> {
      checkIndex(i, files.length);
      const { data, height, width, channels } = await decodeImage(files[i].image, o.channels, {
        maxPixels: o.maxPixels,
      });
      return { data, height, width, channels };
    },
  };
}
