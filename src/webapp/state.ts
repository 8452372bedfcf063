/**
 * The web app's state as plain data, and the functions that change it: the model and the
 * engine that predicts with it, the images waiting for it, each image's result (its prediction
 * kept, so a new threshold makes the mask again without running the network), the images that
 * could not be processed, and what the diagnostics report (timings, engines that failed). No
 * DOM and no engine code: `view.ts` draws it, `export.ts` packs it, `app.ts` runs the work.
 */
import type { QualityCheck } from '../eval/quality.js';
import type { BinaryMask, RawImage } from '../util/raster.js';
import type { Pipeline, PipelineModel, PredictResult } from './pipeline.js';
import type { MaskSettings, StoredPrediction, WorkTiming } from './work.js';

/** How many recent timings the diagnostics keep. */
export const TIMINGS_KEPT = 20;

/**
 * What the page uses of its engine (a `Pipeline`, whose worker does the work): the model and
 * the engine that runs it, the prediction, a new mask from a kept prediction. A test can give
 * a stand-in.
 */
export type Engine = Pick<Pipeline, 'model' | 'predict' | 'remask' | 'dispose'>;

/** One image's result (full-size pixels stay in the worker; the page keeps the file). */
export interface ImageResult {
  /** The file name as it was picked. */
  name: string;
  /** The file name without its folder and extension (`stemOf`). */
  stem: string;
  /** The image file, as picked. */
  file: Blob;
  /** The image's size. */
  width: number;
  height: number;
  /** The network's output, kept for re-thresholding. */
  prediction: StoredPrediction;
  /** The settings of `mask` (the threshold from the slider). */
  settings: MaskSettings;
  /** The probability threshold of `mask`. */
  threshold: number;
  /** The mask at the image's size: its PNG (`ftunet predict`'s) and its lesion pixels. */
  mask: { png: Uint8Array; pixels: number };
  /** The picture the page draws: the image (RGB) and the mask at the page's size. */
  preview: { image: RawImage; mask: BinaryMask };
  /**
   * Sentences for the reader about the image (`notes.ts`): how its channels were made to fit
   * the model, whether it looks like the training images. Empty when there is nothing to say.
   */
  notes: string[];
  /** Quality control of `mask` (`imageQuality`): the page's qc label. */
  qc: QualityCheck;
  /** Milliseconds of its work, measured in the worker. */
  timing: WorkTiming;
  /** A new mask being made (the threshold moved): downloads wait for it. */
  pending?: Promise<void>;
}

/** An image that was not processed, and why (one line, without a final stop). */
export interface Failure {
  name: string;
  message: string;
}

/** How long one prediction took, for the diagnostics. */
export interface Timing {
  name: string;
  /** The image's size. */
  width: number;
  height: number;
  decodeMs: number;
  networkMs: number;
  postMs: number;
  /** The engine that predicted it. */
  engine: string;
}

/** An engine that failed and the one that took over. */
export interface Fallback {
  failed: string;
  reason: string;
  next: string;
}

/** Everything the page knows (see the module doc). */
export interface AppState {
  /** The model in use, once its engine runs. */
  model?: PipelineModel;
  /** The engine of `model`, once started: images are predicted only while there is one. */
  engine?: Engine;
  /** Picked images waiting to be predicted, in order. */
  queue: File[];
  /** Whether images are being predicted now. */
  busy: boolean;
  /** The results, in the order the images were predicted. */
  results: ImageResult[];
  /** The images that were not processed, in order. */
  failures: Failure[];
  /** The last `TIMINGS_KEPT` timings. */
  timings: Timing[];
  /** Every engine fallback since the page opened. */
  fallbacks: Fallback[];
}

/** The state of a page just opened: no model, no images. */
export function createState(): AppState {
  return { queue: [], busy: false, results: [], failures: [], timings: [], fallbacks: [] };
}

/** A file name without its folder and extension: `a/b.c.png` gives `b.c`, `.png` stays. */
export function stemOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** Lesion pixels in a mask. */
export function lesionPixels(mask: BinaryMask): number {
  let pixels = 0;
  for (let i = 0; i < mask.data.length; i++) pixels += mask.data[i];
  return pixels;
}

/** Queues picked images behind those waiting. */
export function enqueue(state: AppState, files: Iterable<File>): void {
  state.queue.push(...files);
}

/**
 * Puts a model whose engine runs in use; the previous engine is returned for the caller to
 * dispose of.
 */
export function setEngine(state: AppState, engine: Engine): Engine | undefined {
  const previous = state.engine;
  state.engine = engine;
  state.model = engine.model;
  return previous;
}

/** The settings a model records (its threshold and post-processing; no TTA, as predict). */
export function recordedSettings(model: Pick<PipelineModel, 'metadata'>): MaskSettings {
  const recipe = model.metadata.predict;
  return {
    threshold: recipe.threshold,
    keepLargest: recipe.postprocess?.keepLargest ?? false,
    minSize: recipe.postprocess?.minSize ?? 0,
    tta: 'none',
  };
}

/**
 * Adds an image's result: the worker's prediction, with its mask's PNG bytes. Returns the
 * result.
 */
export function addResult(
  state: AppState,
  entry: {
    name: string;
    file: Blob;
    settings: MaskSettings;
    result: PredictResult & { preview: NonNullable<PredictResult['preview']> };
    png: Uint8Array;
  },
): ImageResult {
  const { result } = entry;
  const image: ImageResult = {
    name: entry.name,
    stem: stemOf(entry.name),
    file: entry.file,
    width: result.width,
    height: result.height,
    prediction: result.prediction,
    settings: entry.settings,
    threshold: entry.settings.threshold,
    mask: { png: entry.png, pixels: result.modelMask.pixels },
    preview: { image: result.preview.image!, mask: result.preview.mask },
    notes: result.notes,
    qc: result.qc,
    timing: result.timing,
  };
  state.results.push(image);
  state.timings.push({
    name: entry.name,
    width: result.width,
    height: result.height,
    decodeMs: result.timing.decodeMs,
    networkMs: result.timing.networkMs,
    postMs: result.timing.postMs,
    engine: result.prediction.engine,
  });
  if (state.timings.length > TIMINGS_KEPT) state.timings.shift();
  return image;
}

/** `result`'s new mask (made by the worker from its kept prediction) at `settings`. */
export function setMask(
  result: ImageResult,
  settings: MaskSettings,
  mask: { png: Uint8Array; pixels: number; qc?: QualityCheck; preview: BinaryMask },
): void {
  result.settings = settings;
  result.threshold = settings.threshold;
  result.mask = { png: mask.png, pixels: mask.pixels };
  result.preview = { image: result.preview.image, mask: mask.preview };
  if (mask.qc) result.qc = mask.qc;
}

/** An image that could not be processed. */
export function addFailure(state: AppState, name: string, message: string): Failure {
  const failure = { name, message };
  state.failures.push(failure);
  return failure;
}

/** An engine failed and `next` took over. */
export function addFallback(state: AppState, fallback: Fallback): void {
  state.fallbacks.push(fallback);
}
