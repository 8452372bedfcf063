/**
 * The workbench's vocabulary, in one place: what the page keeps of each image (`WorkImage`),
 * the settings that make a mask from the kept probabilities (`MaskSettings`, the CLI's
 * `--threshold`, `--keep-largest`, `--min-size`, `--tta`), and a person's review of a mask
 * (`ReviewStatus`). The page's state (`state.ts`), the worker that predicts (`worker.ts`), the
 * viewer and its correction tools (`viewer/`), the browser's store (`store.ts`) and the work's
 * zip (`work_zip.ts`) all speak it. Full-size pixels are not kept here: an image is its file's
 * bytes and a mask its PNG, both `Blob`s (outside the script's heap), decoded again when the
 * viewer opens the image. Types, constants and one accessor; pure.
 */
import type { QualityCheck } from '../eval/quality.js';
import type { TtaMode } from '../eval/ensemble.js';

/** A person's review of an image's mask. */
export type ReviewStatus = 'unreviewed' | 'accepted' | 'corrected';
export const REVIEW_STATUSES: readonly ReviewStatus[] = ['unreviewed', 'accepted', 'corrected'];

/** How a mask is made from the network's kept probabilities (as `ftunet predict`'s flags). */
export interface MaskSettings {
  /** Lesion where p > threshold. */
  threshold: number;
  /** Keep only the largest 8-connected component. */
  keepLargest: boolean;
  /** Drop 8-connected components of fewer pixels than this (0: keep all). */
  minSize: number;
  /** Test-time augmentation: the mean of the mirrored passes. */
  tta: TtaMode;
}

/** A mask at its image's size, stored as an 8-bit grey PNG of 0 and 255 (`encodeMaskPng`). */
export interface StoredMask {
  png: Blob;
  /** Lesion pixels. */
  pixels: number;
}

/** One gate's attention coefficients at the gate's resolution (as `GateMap`). */
export interface StoredGate {
  gate: string;
  data: Float32Array;
  height: number;
  width: number;
}

/**
 * What the network said of an image, kept at the input size (small: 128x128 or 192x256), so
 * that new settings make the mask again without running the network.
 */
export interface StoredPrediction {
  /** The `final` probabilities at the input size, row-major. */
  probabilities: Float32Array;
  /** The prediction of the horizontal mirror, mirrored back (quality control, TTA hflip). */
  mirrored?: Float32Array;
  /** The prediction of the vertical mirror, mirrored back (TTA vflip, flips), once run. */
  vflipped?: Float32Array;
  /** The prediction of the double mirror, mapped back (TTA flips), once run. */
  hvflipped?: Float32Array;
  /**
   * The image as the network saw it (8-bit, the input size, the model's channels last), for
   * quality control's input check when the mask is made again.
   */
  input?: Uint8Array;
  /** The input size [rows, cols]. */
  inputSize: [number, number];
  /** Each gate's map, deepest first. */
  attention: StoredGate[];
  /** The engine that predicted it ('onnxruntime-wasm', 'tfjs-wasm', ...). */
  engine: string;
  /** The model's hash (its weights' SHA-256, as the export records it), when known. */
  modelHash?: string;
}

/** Milliseconds of one image's work, as measured where it ran (the worker). */
export interface WorkTiming {
  decodeMs: number;
  networkMs: number;
  postMs: number;
  totalMs: number;
}

/** One image of the workbench. */
export interface WorkImage {
  /** Unique in the page (and the store): stays the same across reloads. */
  id: string;
  /** The file name as it was chosen. */
  name: string;
  /** The file name without its folder and extension (`stemOf`). */
  stem: string;
  /** The image file's own bytes (PNG, JPEG or BMP), as chosen. */
  file: Blob;
  /** The image's size and channels as decoded. */
  width: number;
  height: number;
  channels: number;
  /** The network's output; absent for an image imported with a mask and not predicted yet. */
  prediction?: StoredPrediction;
  /** The settings of `modelMask`. */
  settings: MaskSettings;
  /** The model's mask at `settings`; absent without a prediction. */
  modelMask?: StoredMask;
  /** The person's mask, once they corrected it (or imported it as their earlier work). */
  correction?: StoredMask;
  /** A ground truth given with the image, to compare against (DSC, IoU). */
  truth?: StoredMask;
  /** The person's review. */
  status: ReviewStatus;
  /** Sentences about the image (channels converted, unlike the training images). */
  notes: string[];
  /** Quality control of the model's mask. */
  qc?: QualityCheck;
  timing?: WorkTiming;
  /** When the image was added (ms since 1970), for the order of the list. */
  added: number;
}

/** The mask in force: the person's correction when there is one, else the model's. */
export function currentMask(image: WorkImage): StoredMask | undefined {
  return image.correction ?? image.modelMask;
}
