/**
 * The workbench's state as plain data, and the functions that change it: the pipeline that
 * predicts (and its model), the images waiting for it, the images of the work (`WorkImage`s of
 * `work.ts`: file bytes and PNG masks, no full-size pixels), those that could not be
 * processed, the mask settings for all images, the pixel spacing, the image open in the
 * viewer, what the diagnostics report (timings, engines that failed), and the fine-tuning's
 * settings and models. No DOM and no engine code: `view.ts` and `fine_tune_view.ts` draw it,
 * `app.ts` runs the work.
 */
import { FINE_TUNE_DEFAULTS, type FineTuneSettings } from '../browser/fine_tune_settings.js';
import type { Pipeline, PipelineModel, PredictResult } from './pipeline.js';
import { stemOf } from '../eval/mask_pairing.js';
import type { BinaryMask } from '../util/raster.js';
import type { WorkStore } from './store.js';
import { WORK_TTA_MODES } from './work_zip.js';
import {
  REVIEW_STATUSES,
  type MaskSettings,
  type ReviewStatus,
  type StoredMask,
  type WorkImage,
  type WorkTiming,
} from './work.js';

/** How many recent timings the diagnostics keep. */
export const TIMINGS_KEPT = 20;

export type { PipelineModel };

/** What `predict` gives of an image. */
export type Predicted = PredictResult;

/**
 * What the page uses of its pipeline (`pipeline.ts`), where the heavy work runs (decoding, the
 * network, post-processing, PNG and zip encoding). A test can give a stand-in.
 */
export type WorkPipeline = Pick<
  Pipeline,
  'model' | 'predict' | 'remask' | 'decodeImage' | 'decodeMask' | 'encodeMask' | 'zip' | 'dispose'
>;

/** An image waiting for the pipeline, with what came with it. */
export interface QueuedImage {
  /** The id its `WorkImage` will have (its row shows it waiting). */
  id: string;
  file: File;
  /** A ground truth given with it. */
  truth?: StoredMask;
  /** A mask given as the person's earlier work. */
  correction?: StoredMask;
  status?: ReviewStatus;
  /** Its own mask settings (a work zip's); absent: the settings for all images. */
  settings?: MaskSettings;
  /** When it was first added (a work zip's). */
  added?: number;
}

/** An image that was not processed, and why (one line, without a final stop). */
export interface Failure {
  id: string;
  name: string;
  message: string;
}

/** How long one prediction took, for the diagnostics. */
export interface Timing extends WorkTiming {
  name: string;
  width: number;
  height: number;
  engine: string;
}

/** An engine that failed and the one that took over. */
export interface Fallback {
  failed: string;
  reason: string;
  next: string;
}

/** The settings the page remembers between visits. */
export interface PageSettings {
  /** The mask settings for all images (a new image's). */
  mask: MaskSettings;
  /** Millimetres per pixel, when the person gave it (areas are then in mm²). */
  spacing?: number;
}

/** Where a model comes from: the built-in one's address, or files (opened, or fine-tuned here). */
export type ModelSource = { url: string } | { files: File[] };

/** Fine-tuning in the page: its settings, whether it runs, and the models it switches between. */
export interface FineTuneState {
  /** As the panel's controls set them (`FINE_TUNE_DEFAULTS` until changed). */
  settings: FineTuneSettings;
  /** Whether a fine-tuning runs now. */
  running: boolean;
  /** The model in use when the last fine-tuning began, and the model it made. */
  original?: ModelSource;
  fineTuned?: ModelSource;
  /** Which of the two is in use. */
  using: 'original' | 'fine-tuned';
}

/** Everything the page knows (see the module doc). */
export interface AppState {
  /** The pipeline of the model in use, once started: images are predicted only while there is one. */
  pipeline?: WorkPipeline;
  /** Where the pipeline's model came from. */
  model?: ModelSource;
  fineTune: FineTuneState;
  /** Where the work is kept (the browser's IndexedDB, or memory where it has none). */
  store?: WorkStore;
  /** Images waiting to be predicted, in order. */
  queue: QueuedImage[];
  /** Whether images are being predicted now. */
  busy: boolean;
  /** The work's images, in the order they were added. */
  images: WorkImage[];
  /** The images that were not processed, in order. */
  failures: Failure[];
  /** The last `TIMINGS_KEPT` timings. */
  timings: Timing[];
  /** Every engine fallback since the page opened. */
  fallbacks: Fallback[];
  settings: PageSettings;
  /** The id of the image open in the viewer. */
  openId?: string;
}

/**
 * The mask settings a model records: its threshold and post-processing, no TTA (`predict`'s
 * defaults without a model).
 */
export function recordedSettings(model: Pick<PipelineModel, 'metadata'> | undefined): MaskSettings {
  const recipe = model?.metadata.predict;
  return {
    threshold: recipe?.threshold ?? 0.5,
    keepLargest: recipe?.postprocess?.keepLargest ?? false,
    minSize: recipe?.postprocess?.minSize ?? 0,
    // `--tta`'s default (eval/ensemble.ts's DEFAULT_TTA, whose module brings tfjs).
    tta: 'none',
  };
}

/** The state of a page just opened: no pipeline, no images, `settings` (remembered or not). */
export function createState(
  settings: PageSettings = { mask: recordedSettings(undefined) },
): AppState {
  return {
    queue: [],
    busy: false,
    images: [],
    failures: [],
    timings: [],
    fallbacks: [],
    settings,
    fineTune: { settings: { ...FINE_TUNE_DEFAULTS }, running: false, using: 'original' },
  };
}

export { stemOf };

/** Lesion pixels in a mask. */
export function lesionPixels(mask: BinaryMask): number {
  let pixels = 0;
  for (let i = 0; i < mask.data.length; i++) pixels += mask.data[i];
  return pixels;
}

/** A new id, unique in this browser. */
export function newId(): string {
  return crypto.randomUUID();
}

/** Queues images behind those waiting. */
export function enqueue(state: AppState, items: Iterable<QueuedImage>): void {
  state.queue.push(...items);
}

/** The image of `id`, if the work has it. */
export function imageById(state: AppState, id: string | undefined): WorkImage | undefined {
  return id === undefined ? undefined : state.images.find((i) => i.id === id);
}

/**
 * Adds a predicted image to the work (replacing one of the same id) and records its timing.
 * Returns it.
 */
export function addImage(
  state: AppState,
  queued: QueuedImage,
  predicted: Predicted,
  settings: MaskSettings,
  added = queued.added ?? Date.now(),
): WorkImage {
  const image: WorkImage = {
    id: queued.id,
    name: queued.file.name,
    stem: stemOf(queued.file.name),
    file: queued.file,
    ...predicted,
    settings: { ...settings },
    status: queued.status ?? (queued.correction ? 'corrected' : 'unreviewed'),
    ...(queued.truth ? { truth: queued.truth } : {}),
    ...(queued.correction ? { correction: queued.correction } : {}),
    added,
  };
  const at = state.images.findIndex((i) => i.id === image.id);
  if (at >= 0) state.images[at] = image;
  else state.images.push(image);
  if (predicted.timing) {
    state.timings.push({
      name: image.name,
      width: image.width,
      height: image.height,
      engine: predicted.prediction?.engine ?? '-',
      ...predicted.timing,
    });
    if (state.timings.length > TIMINGS_KEPT) state.timings.shift();
  }
  return image;
}

/** An image that could not be processed. */
export function addFailure(state: AppState, failure: Failure): Failure {
  state.failures.push(failure);
  return failure;
}

/** Forgets every image, queued, done or failed (the work was cleared). */
export function clearWork(state: AppState): void {
  state.queue = [];
  state.images = [];
  state.failures = [];
  delete state.openId;
}

/** An engine failed and `next` took over. */
export function addFallback(state: AppState, fallback: Fallback): void {
  state.fallbacks.push(fallback);
}

/** Whether `x` is a review status. */
export function isReviewStatus(x: unknown): x is ReviewStatus {
  return REVIEW_STATUSES.includes(x as ReviewStatus);
}

/** Whether `x` is a TTA mode the page offers. */
export function isTtaMode(x: unknown): x is MaskSettings['tta'] {
  return WORK_TTA_MODES.includes(x as MaskSettings['tta']);
}

/** The `localStorage` key of the remembered settings. */
export const SETTINGS_KEY = 'ftunet-app-settings';

/**
 * The settings remembered in `text` (`JSON.stringify` of `PageSettings`), each field checked:
 * one missing or out of range takes its value from `defaults`.
 */
export function readSettings(text: string | null, defaults: PageSettings): PageSettings {
  let value: unknown;
  try {
    value = text === null ? undefined : JSON.parse(text);
  } catch {
    value = undefined;
  }
  const saved = (typeof value === 'object' && value !== null ? value : {}) as {
    mask?: Partial<Record<keyof MaskSettings, unknown>>;
    spacing?: unknown;
  };
  const mask = saved.mask ?? {};
  const d = defaults.mask;
  const threshold = mask.threshold;
  const minSize = mask.minSize;
  const spacing = saved.spacing ?? defaults.spacing;
  return {
    mask: {
      threshold:
        typeof threshold === 'number' && threshold > 0 && threshold < 1 ? threshold : d.threshold,
      keepLargest: typeof mask.keepLargest === 'boolean' ? mask.keepLargest : d.keepLargest,
      minSize:
        typeof minSize === 'number' && Number.isSafeInteger(minSize) && minSize >= 0
          ? minSize
          : d.minSize,
      tta: isTtaMode(mask.tta) ? mask.tta : d.tta,
    },
    ...(typeof spacing === 'number' && spacing > 0 && Number.isFinite(spacing) ? { spacing } : {}),
  };
}
