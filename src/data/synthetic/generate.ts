/**
 * Synthetic lesion data sets in memory: the project's default data when the BUS and ISIC data
 * sets are not at hand, and the data of the tests. `generatePair(kind, seed, index)` makes one
 * full-size image and mask (bus.ts, isic.ts); `synthesizeDataset` makes a whole data set at
 * the input size, regenerating full-size masks on demand instead of keeping them.
 *
 * The same (kind, seed, index) always gives the same pixels, on every platform. Pure
 * JavaScript: no Node-only API (write.ts saves a data set to disk).
 */
import { UserError } from '../../errors.js';
import { checkSeed } from '../../util/rng.js';
import {
  convertChannels,
  INTERPOLATIONS,
  type Interpolation,
  type RawImage,
} from '../../util/raster.js';
import { preprocess, preprocessMask } from '../recipe.js';
import { checkIndex, type SegmentationDataset } from '../dataset.js';
import { checkInputShape, DATASET_PRESETS, type SyntheticKind } from '../presets.js';
import {
  BUS_LOOKS,
  DEFAULT_BUS_LOOK,
  generateBusPair,
  type BusLook,
  type GeneratedPair,
} from './bus.js';
import { generateIsicPair } from './isic.js';

/** Which synthetic data: ultrasound-like ('bus') or dermoscopy-like ('isic'). */
export type { SyntheticKind };

/** The allowed values of `SyntheticKind`. */
export const SYNTHETIC_KINDS: readonly SyntheticKind[] = ['bus', 'isic'];

/** The default number of items: the BUS data set's 163; 200 for isic (quick to make). */
export const DEFAULT_SYNTHETIC_COUNT: Readonly<Record<SyntheticKind, number>> = {
  bus: 163,
  isic: 200,
};

/** The largest count accepted (a typo guard; ISIC 2018 Task 1 has 2,594). */
export const MAX_SYNTHETIC_COUNT = 100_000;

export type { GeneratedPair };

/** Parses a synthetic kind, naming the flag in the error. */
export function parseSyntheticKind(text: string, flag = '--kind'): SyntheticKind {
  const v = text.trim().toLowerCase();
  if ((SYNTHETIC_KINDS as readonly string[]).includes(v)) return v as SyntheticKind;
  throw new UserError(
    `${flag}: unknown kind '${text}'; expected one of ${SYNTHETIC_KINDS.join(', ')}`,
  );
}

/** Parses an item count (1 to 100,000), naming the flag in the error. */
export function parseCount(text: string, flag = '--count'): number {
  const v = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(v >= 1 && v <= MAX_SYNTHETIC_COUNT)) {
    throw new UserError(
      `${flag}: expected a whole number from 1 to ${MAX_SYNTHETIC_COUNT}, got '${text}'`,
    );
  }
  return v;
}

/** How a synthetic image looks: a named style of the bus-like images (`BUS_LOOKS` in bus.ts). */
export type SyntheticLook = BusLook;
/** The allowed values of `SyntheticLook`. */
export const SYNTHETIC_LOOKS = Object.keys(BUS_LOOKS) as SyntheticLook[];
export { DEFAULT_BUS_LOOK as DEFAULT_SYNTHETIC_LOOK };

/** Throws a `UserError` unless `look` is a look that `kind` can be drawn in. */
export function checkLook(kind: SyntheticKind, look: SyntheticLook): void {
  if (!SYNTHETIC_LOOKS.includes(look)) {
    throw new UserError(`look: expected one of ${SYNTHETIC_LOOKS.join(', ')}, got '${look}'`);
  }
  if (kind !== 'bus' && look !== DEFAULT_BUS_LOOK) {
    throw new UserError(
      `look '${look}': only the bus kind has looks other than ${DEFAULT_BUS_LOOK}`,
    );
  }
}

/** Options of `generatePair`. */
export interface GenerateOptions {
  /** Seed of the stream. Default 0. */
  seed?: number;
  /** The look of the images (bus only). Default 'standard'. */
  look?: SyntheticLook;
}

/** Generates item `index` (0-based) of kind `kind`, at full size. */
export function generatePair(
  kind: SyntheticKind,
  index: number,
  options: GenerateOptions = {},
): GeneratedPair {
  const { seed = 0, look = DEFAULT_BUS_LOOK } = options;
  checkSeed(seed);
  checkLook(kind, look);
  if (!Number.isInteger(index) || index < 0) {
    throw new UserError(`a synthetic item's index must be a non-negative integer, got ${index}`);
  }
  switch (kind) {
    case 'bus':
      return generateBusPair(seed, index, look);
    case 'isic':
      return generateIsicPair(seed, index);
    default:
      throw new UserError(
        `unknown synthetic kind '${String(kind)}'; expected one of ${SYNTHETIC_KINDS.join(', ')}`,
      );
  }
}

/**
 * The file name of item `index`, as in the real data sets: bus `000001.png` (1-based, six
 * digits), isic `ISIC_0000000.jpg` (0-based, seven digits).
 */
export function syntheticName(kind: SyntheticKind, index: number): string {
  switch (kind) {
    case 'bus':
      return `${String(index + 1).padStart(6, '0')}.png`;
    case 'isic':
      return `ISIC_${String(index).padStart(7, '0')}.jpg`;
    default:
      throw new UserError(
        `unknown synthetic kind '${String(kind)}'; expected one of ${SYNTHETIC_KINDS.join(', ')}`,
      );
  }
}

/** Options of `synthesizeDataset`. */
export interface SynthesizeOptions {
  /** 'bus' or 'isic'. Required. */
  kind: SyntheticKind;
  /** Number of items. Default: 163 for bus, 200 for isic. */
  count?: number;
  /** Seed. Default 0. */
  seed?: number;
  /** [rows, cols] of the arrays. Default: bus 128x128, isic 192x256 (the paper's). */
  inputSize?: readonly [number, number];
  /** Channels. Default: bus 1, isic 3. */
  channels?: 1 | 3;
  /** How images are resized. Default 'nearest'. */
  interpolation?: Interpolation;
  /** The look of the images (bus only). Default 'standard'. */
  look?: SyntheticLook;
  /** Called after each item with (done, total). Default: nothing. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * A synthetic data set in memory, named as `synth` would write it. Full-size masks and images
 * are regenerated by `loadOriginalMask` / `loadOriginalImage`. The images are the generator's
 * exact pixels (a written isic data set holds JPEG-compressed ones).
 */
export function synthesizeDataset(options: SynthesizeOptions): SegmentationDataset {
  const { kind } = options;
  const preset = DATASET_PRESETS[kind === 'bus' ? 'bus' : 'isic2018'];
  const count = options.count ?? DEFAULT_SYNTHETIC_COUNT[kind];
  const seed = options.seed ?? 0;
  const inputSize = options.inputSize ?? preset.inputSize;
  const channels = options.channels ?? preset.channels;
  const interpolation = options.interpolation ?? 'nearest';
  const look = options.look ?? DEFAULT_BUS_LOOK;
  checkSeed(seed);
  checkLook(kind, look);
  checkInputShape(inputSize, channels);
  if (!Number.isInteger(count) || count < 1 || count > MAX_SYNTHETIC_COUNT) {
    throw new UserError(`count must be 1 to ${MAX_SYNTHETIC_COUNT}, got ${count}`);
  }
  if (!INTERPOLATIONS.includes(interpolation)) {
    throw new UserError(
      `unknown interpolation '${String(interpolation)}'; expected one of ` +
        INTERPOLATIONS.join(', '),
    );
  }
  syntheticName(kind, 0); // checks the kind
  const names: string[] = [];
  const originalSizes: [number, number][] = [];
  const layouts: string[] = [];
  const lesionArea: number[] = [];
  const images: Uint8Array[] = [];
  const masks: Uint8Array[] = [];
  // Steps 1 and 2 of the prediction recipe, and the masks resized as the network sees them.
  const recipe = { inputShape: [inputSize[0], inputSize[1], channels] as const, interpolation };
  for (let i = 0; i < count; i++) {
    const pair = generatePair(kind, i, { seed, look });
    names.push(syntheticName(kind, i));
    originalSizes.push([pair.image.height, pair.image.width]);
    layouts.push(pair.image.channels === 1 ? 'grey' : 'rgb');
    lesionArea.push(pair.lesionArea);
    images.push(preprocess(recipe, pair.image).data);
    masks.push(preprocessMask(recipe, pair.mask).data);
    options.onProgress?.(i + 1, count);
  }
  return {
    source: { kind: kind === 'bus' ? 'synthetic-bus' : 'synthetic-isic', seed },
    count,
    inputSize: [inputSize[0], inputSize[1]],
    channels,
    interpolation,
    names,
    originalSizes,
    layouts,
    lesionArea,
    images,
    masks,
    loadOriginalMask(i) {
      checkIndex(i, count);
      return Promise.resolve(generatePair(kind, i, { seed, look }).mask);
    },
    loadOriginalImage(i): Promise<RawImage> {
      checkIndex(i, count);
      return Promise.resolve(
        convertChannels(generatePair(kind, i, { seed, look }).image, channels),
      );
    },
  };
}
