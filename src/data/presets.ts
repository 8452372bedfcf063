/**
 * The data sets: their layouts on disk, the synthetic stand-ins, and one table of the paper's
 * settings per data set (the paper's protocol: BUS 128x128x1, 100 epochs, batch 16;
 * ISIC 2018 192x256x3, 50 epochs, batch 8). Flags override them. Pure JavaScript.
 */
import { UserError } from '../errors.js';
import type { DatasetSourceKind } from './dataset.js';
import type { AugmentTransform } from './augment.js';

/** A data set layout on disk. */
export type DatasetLayout = 'bus' | 'isic2018' | 'folder';

/** The allowed values of `DatasetLayout`. */
export const DATASET_LAYOUTS: readonly DatasetLayout[] = ['bus', 'isic2018', 'folder'];

/** The data set kinds a run may name: the three layouts and the two synthetic kinds. */
export const DATASET_SOURCE_KINDS: readonly DatasetSourceKind[] = [
  'bus',
  'isic2018',
  'folder',
  'synthetic-bus',
  'synthetic-isic',
];

/** The synthetic generators. */
export type SyntheticKind = 'bus' | 'isic';

/** Input size [rows, cols] and channels of a data set. */
export interface InputPreset {
  inputSize: readonly [number, number];
  channels: 1 | 3;
}

/** A data set's settings: input size and channels, and the paper's epochs and batch size. */
export interface DatasetPreset extends InputPreset {
  /** The data set in words, for people (the web app's description of a model). */
  title: string;
  /** How the files lie on disk. */
  layout: DatasetLayout;
  /** The generator of a synthetic stand-in; absent for real data. */
  synthetic?: SyntheticKind;
  epochs: number;
  batchSize: number;
  /**
   * Transforms that do not fit the data set, left out of every augmentation level (a transform
   * given on its own flag still applies). Ultrasound images have a direction, depth from the
   * probe at the top: no vertical flip or quarter turn.
   */
  augmentExclude: readonly AugmentTransform[];
  /**
   * The mirrors under which the data set's images stay images of the data set: test-time
   * augmentation may use them even on a model trained without flips (`--tta auto`). Ultrasound
   * is mirrored left-right (either breast, either probe side) but not top-bottom (depth);
   * dermoscopy has no orientation; a folder of your own images is not known.
   */
  naturalMirrors: { horizontal: boolean; vertical: boolean };
}

/** Left-right only: ultrasound. */
const HORIZONTAL = { horizontal: true, vertical: false } as const;
/** Any: dermoscopy. */
const BOTH = { horizontal: true, vertical: true } as const;
/** None known. */
const NONE = { horizontal: false, vertical: false } as const;

/** Ultrasound: depth runs down the image. */
const ULTRASOUND_EXCLUDE: readonly AugmentTransform[] = ['flipV', 'rot90'];

/**
 * The settings per data set: `bus` and `isic2018` as in the paper, their synthetic stand-ins
 * alike; `folder` (your own images) 128x128x3, which takes grey and colour images alike, with
 * BUS's protocol.
 */
export const DATASET_PRESETS: Readonly<Record<DatasetSourceKind, DatasetPreset>> = {
  bus: {
    title: 'BUS 2017 data set B (breast ultrasound)',
    layout: 'bus',
    inputSize: [128, 128],
    channels: 1,
    epochs: 100,
    batchSize: 16,
    augmentExclude: ULTRASOUND_EXCLUDE,
    naturalMirrors: HORIZONTAL,
  },
  'synthetic-bus': {
    title: 'synthetic breast-ultrasound images',
    layout: 'bus',
    synthetic: 'bus',
    inputSize: [128, 128],
    channels: 1,
    epochs: 100,
    batchSize: 16,
    augmentExclude: ULTRASOUND_EXCLUDE,
    naturalMirrors: HORIZONTAL,
  },
  isic2018: {
    title: 'ISIC 2018 Task 1 (dermoscopy)',
    layout: 'isic2018',
    inputSize: [192, 256],
    channels: 3,
    epochs: 50,
    batchSize: 8,
    augmentExclude: [],
    naturalMirrors: BOTH,
  },
  'synthetic-isic': {
    title: 'synthetic dermoscopy images',
    layout: 'isic2018',
    synthetic: 'isic',
    inputSize: [192, 256],
    channels: 3,
    epochs: 50,
    batchSize: 8,
    augmentExclude: [],
    naturalMirrors: BOTH,
  },
  folder: {
    title: 'a folder of images',
    layout: 'folder',
    inputSize: [128, 128],
    channels: 3,
    epochs: 100,
    batchSize: 16,
    augmentExclude: [],
    naturalMirrors: NONE,
  },
};

/** Parses a layout name ("bus", "isic2018", "folder"), naming the flag in the error. */
export function parseDatasetLayout(text: string, flag = '--dataset'): DatasetLayout {
  const v = text.trim().toLowerCase();
  if ((DATASET_LAYOUTS as readonly string[]).includes(v)) return v as DatasetLayout;
  throw new UserError(
    `${flag}: unknown data set '${text}'; expected one of ${DATASET_LAYOUTS.join(', ')}`,
  );
}

/** Parses a data set kind including the synthetic ones, naming the flag in the error. */
export function parseDatasetSourceKind(text: string, flag = '--dataset'): DatasetSourceKind {
  const v = text.trim().toLowerCase();
  if ((DATASET_SOURCE_KINDS as readonly string[]).includes(v)) return v as DatasetSourceKind;
  throw new UserError(
    `${flag}: unknown data set '${text}'; expected one of ${DATASET_SOURCE_KINDS.join(', ')}`,
  );
}

/** The preset of a data set kind (exhaustive over `DatasetSourceKind`). */
export function datasetPreset(kind: DatasetSourceKind): DatasetPreset {
  const preset = (DATASET_PRESETS as Partial<Record<string, DatasetPreset>>)[kind];
  if (preset === undefined) {
    throw new UserError(
      `unknown data set '${String(kind)}'; expected one of ` + DATASET_SOURCE_KINDS.join(', '),
    );
  }
  return preset;
}

/** The layout on disk of a data set kind: synthetic-bus is read as bus, synthetic-isic as isic2018. */
export function datasetLayout(kind: DatasetSourceKind): DatasetLayout {
  return datasetPreset(kind).layout;
}

/** The synthetic generator of a data set kind, or undefined for real data. */
export function syntheticKindOf(kind: DatasetSourceKind): SyntheticKind | undefined {
  return datasetPreset(kind).synthetic;
}

/** The largest side accepted for an input size (a sanity bound against typos). */
export const MAX_INPUT_SIDE = 4096;

/** Parses "H,W" or "HxW" (rows first, as the paper writes 192x256), naming the flag. */
export function parseInputSize(text: string, flag = '--input-size'): [number, number] {
  const m = /^\s*(\d+)\s*[,x]\s*(\d+)\s*$/i.exec(text);
  const h = m ? Number(m[1]) : Number.NaN;
  const w = m ? Number(m[2]) : Number.NaN;
  if (!(h >= 1 && w >= 1 && h <= MAX_INPUT_SIDE && w <= MAX_INPUT_SIDE)) {
    throw new UserError(
      `${flag}: expected rows,cols such as 128,128 or 192x256 (each 1 to ${MAX_INPUT_SIDE}), ` +
        `got '${text}'`,
    );
  }
  return [h, w];
}

/** Parses a channel count: 1 (grey) or 3 (RGB). */
export function parseChannels(text: string, flag = '--channels'): 1 | 3 {
  const v = text.trim();
  if (v === '1') return 1;
  if (v === '3') return 3;
  throw new UserError(`${flag}: expected 1 (grey) or 3 (RGB), got '${text}'`);
}

/** Checks an input size and channel count given in code. */
export function checkInputShape(inputSize: readonly [number, number], channels: number): void {
  const [h, w] = inputSize;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h >= 1 && w >= 1)) {
    throw new UserError(`inputSize must be two positive integers, got [${inputSize.join(', ')}]`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new UserError(`channels must be 1 or 3, got ${channels}`);
  }
}
