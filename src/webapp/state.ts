/**
 * The web app's state as plain data, and the functions that change it: the model and the
 * engine that predicts with it, the images waiting for it, each image's result (its prediction
 * kept, so a new threshold makes the mask again without running the network), the images that
 * could not be processed, and what the diagnostics report (timings, engines that failed). No
 * DOM and no engine code: `view.ts` draws it, `export.ts` packs it, `app.ts` runs the work.
 */
import type { LoadedModel } from '../browser/model.js';
import type { Segmentation, Segmenter } from '../browser/segmenter.js';
import type { QualityCheck } from '../eval/quality.js';
import type { BinaryMask, RawImage } from '../util/raster.js';
import { imageQuality } from './notes.js';

/** How many recent timings the diagnostics keep. */
export const TIMINGS_KEPT = 20;

/**
 * What the page uses of an engine (a `Segmenter`): its model, the prediction, the mask at a
 * threshold, and what the page and the diagnostics name. A test can give a stand-in.
 */
export type Engine = Pick<
  Segmenter,
  | 'loaded'
  | 'threshold'
  | 'preprocess'
  | 'predict'
  | 'mask'
  | 'dispose'
  | 'engineLabel'
  | 'threads'
  | 'gpu'
>;

/** One image's result. */
export interface ImageResult {
  /** The file name as it was picked. */
  name: string;
  /** The file name without its folder and extension (`stemOf`). */
  stem: string;
  /** The image as decoded (8-bit, 1 to 4 channels, its own size). */
  image: RawImage;
  /** The network's output, kept for re-thresholding. */
  prediction: Segmentation;
  /** The probability threshold of `mask`. */
  threshold: number;
  /** The mask (0/1) at the image's size, at `threshold`. */
  mask: BinaryMask;
  /**
   * Sentences for the reader about the image (`notes.ts`): how its channels were made to fit
   * the model, whether it looks like the training images. Empty when there is nothing to say.
   */
  notes: string[];
  /** Quality control of `mask` (`imageQuality`): the page's qc label. */
  qc: QualityCheck;
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
  preprocessMs: number;
  networkMs: number;
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
  /** The model in use, from the moment it is loaded (its engine may still be starting). */
  model?: LoadedModel;
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
 * Puts a newly loaded model in use. Its engine is not started yet: `state.engine` is cleared,
 * and the previous model and engine are returned for the caller to dispose of.
 */
export function setModel(
  state: AppState,
  model: LoadedModel,
): { model?: LoadedModel; engine?: Engine } {
  const previous = { model: state.model, engine: state.engine };
  state.engine = undefined;
  state.model = model;
  return previous;
}

/** The engine of the model in use has started. */
export function setEngine(state: AppState, engine: Engine): void {
  state.engine = engine;
}

/**
 * Adds an image's result: its mask at `engine`'s recorded threshold (the engine that predicted
 * it), its notes and its quality control. Returns the result.
 */
export function addResult(
  state: AppState,
  engine: Engine,
  entry: { name: string; image: RawImage; prediction: Segmentation; notes: string[] },
): ImageResult {
  const threshold = engine.threshold;
  const mask = engine.mask(entry.prediction, threshold);
  const result: ImageResult = {
    name: entry.name,
    stem: stemOf(entry.name),
    image: entry.image,
    prediction: entry.prediction,
    threshold,
    mask,
    notes: entry.notes,
    qc: imageQuality(engine, entry.image, entry.prediction, mask, threshold),
  };
  state.results.push(result);
  state.timings.push({
    name: entry.name,
    width: entry.image.width,
    height: entry.image.height,
    preprocessMs: entry.prediction.timing.preprocessMs,
    networkMs: entry.prediction.timing.networkMs,
    engine: entry.prediction.engine,
  });
  if (state.timings.length > TIMINGS_KEPT) state.timings.shift();
  return result;
}

/**
 * Makes `result`'s mask (and its quality control) again at `threshold` from its kept
 * probabilities (no network). False,
 * and nothing changed, while no engine is started (another model being opened).
 */
export function setThreshold(state: AppState, result: ImageResult, threshold: number): boolean {
  if (state.engine === undefined) return false;
  result.mask = state.engine.mask(result.prediction, threshold);
  result.threshold = threshold;
  result.qc = imageQuality(state.engine, result.image, result.prediction, result.mask, threshold);
  return true;
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
