/**
 * The data set layouts the readers understand, and the paper's input size and channels for
 * each (../shared REFERENCE §3: BUS 128x128x1, ISIC 2018 192x256x3). Flags override them.
 * Pure JavaScript.
 */
import { UserError } from '../errors.js';

/** A data set layout on disk. */
export type DatasetKind = 'bus' | 'isic2018' | 'folder';

/** The allowed values of `DatasetKind`. */
export const DATASET_KINDS: readonly DatasetKind[] = ['bus', 'isic2018', 'folder'];

/** Input size [rows, cols] and channels of a data set. */
export interface InputPreset {
  inputSize: readonly [number, number];
  channels: 1 | 3;
}

/**
 * The defaults per layout: `bus` 128x128x1 and `isic2018` 192x256x3 as in the paper;
 * `folder` (your own images) 128x128x3, which takes grey and colour images alike.
 */
export const DATASET_PRESETS: Readonly<Record<DatasetKind, InputPreset>> = {
  bus: { inputSize: [128, 128], channels: 1 },
  isic2018: { inputSize: [192, 256], channels: 3 },
  folder: { inputSize: [128, 128], channels: 3 },
};

/** Parses a layout name ("bus", "isic2018", "folder"), naming the flag in the error. */
export function parseDatasetKind(text: string, flag = '--dataset'): DatasetKind {
  const v = text.trim().toLowerCase();
  if ((DATASET_KINDS as readonly string[]).includes(v)) return v as DatasetKind;
  throw new UserError(
    `${flag}: unknown data set '${text}'; expected one of ${DATASET_KINDS.join(', ')}`,
  );
}

/** The preset of a layout (exhaustive over `DatasetKind`). */
export function datasetPreset(kind: DatasetKind): InputPreset {
  switch (kind) {
    case 'bus':
    case 'isic2018':
    case 'folder':
      return DATASET_PRESETS[kind];
    default:
      throw new UserError(
        `datasetPreset: unknown data set '${String(kind)}'; expected one of ${DATASET_KINDS.join(', ')}`,
      );
  }
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
export function checkInputShape(
  what: string,
  inputSize: readonly [number, number],
  channels: number,
): void {
  const [h, w] = inputSize;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h >= 1 && w >= 1)) {
    throw new UserError(
      `${what}: inputSize must be two positive integers, got [${inputSize.join(', ')}]`,
    );
  }
  if (channels !== 1 && channels !== 3) {
    throw new UserError(`${what}: channels must be 1 or 3, got ${channels}`);
  }
}
