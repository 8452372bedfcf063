/**
 * The mask of a kept prediction under `MaskSettings`, as `ftunet predict` makes it with the
 * same flags: the mean of the TTA passes (`meanOfPasses`, in `ttaFlips` order, as
 * `predict --tta`), the recorded recipe's steps 4 to 6 (data/recipe.ts `postprocess`) with the
 * threshold, keep-largest and min-size given, and its quality control (`imageQuality`). The
 * worker runs it after a prediction and for each new setting. Pure.
 */
import { checkThreshold, postprocess, type PredictionRecipe } from '../data/recipe.js';
import { UserError } from '../errors.js';
import { meanOfPasses, ttaFlips, TTA_MODES, type Flip } from '../eval/ensemble.js';
import type { QualityCheck } from '../eval/quality.js';
import type { BinaryMask } from '../util/raster.js';
import { imageQuality, type NotesEngine } from './notes.js';
import type { MaskSettings, StoredPrediction } from './work.js';

/** Checks settings as the CLI checks its flags; throws a `UserError` naming the first wrong one. */
export function checkMaskSettings(settings: MaskSettings): void {
  checkThreshold(settings.threshold);
  if (!(Number.isInteger(settings.minSize) && settings.minSize >= 0)) {
    throw new UserError(`min size must be an integer >= 0, got ${settings.minSize}`);
  }
  if (!TTA_MODES.includes(settings.tta)) {
    throw new UserError(
      `TTA must be one of ${TTA_MODES.join(', ')}, got '${String(settings.tta)}'`,
    );
  }
}

/** The passes beyond the image and its horizontal mirror that `tta` needs (vertical flips). */
export function extraFlips(tta: MaskSettings['tta']): Flip[] {
  return ttaFlips(tta).filter((f) => f.vertical);
}

/** A prediction's pass on `flip`, mapped back, when it was run. */
export function passOf(p: StoredPrediction, flip: Flip): Float32Array | undefined {
  if (!flip.vertical) return flip.horizontal ? p.mirrored : p.probabilities;
  return flip.horizontal ? p.hvflipped : p.vflipped;
}

/** Whether `prediction` holds every pass `tta` averages. */
export function hasPasses(prediction: StoredPrediction, tta: MaskSettings['tta']): boolean {
  return ttaFlips(tta).every((f) => passOf(prediction, f) !== undefined);
}

/** What `maskOf` gives. */
export interface SettingsMask {
  /** The mask (0/1) at the image's size. */
  mask: BinaryMask;
  /** Its lesion pixels. */
  pixels: number;
  /** The probabilities it thresholds (the TTA mean), at the input size. */
  probabilities: Float32Array;
  qc: QualityCheck;
}

/** The mask of `prediction` at `imageSize` [rows, cols] under `settings` (see the module doc). */
export function maskOf(
  engine: Pick<NotesEngine, 'loaded'>,
  prediction: StoredPrediction,
  imageSize: [number, number],
  settings: MaskSettings,
): SettingsMask {
  checkMaskSettings(settings);
  const passes = ttaFlips(settings.tta).map((f) => passOf(prediction, f));
  if (passes.some((p) => p === undefined)) {
    throw new UserError(`the passes of TTA ${settings.tta} were not run for this image`);
  }
  const probabilities = meanOfPasses(passes as Float32Array[]);
  const recipe: PredictionRecipe = {
    ...engine.loaded.metadata.predict,
    threshold: settings.threshold,
    postprocess: { keepLargest: settings.keepLargest, minSize: settings.minSize },
  };
  const { mask } = postprocess(recipe, probabilities, imageSize);
  let pixels = 0;
  for (let i = 0; i < mask.data.length; i++) pixels += mask.data[i];
  const qc = imageQuality(
    engine,
    prediction.input,
    {
      probabilities,
      unflipped: prediction.probabilities,
      ...(prediction.mirrored ? { mirrored: prediction.mirrored } : {}),
    },
    mask,
    settings.threshold,
  );
  return { mask, pixels, probabilities, qc };
}
