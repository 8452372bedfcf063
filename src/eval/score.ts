/**
 * Scoring one predicted probability map the way the reference evaluates (`utils.py`), with
 * steps 4 to 6 of the prediction recipe (data/recipe.ts): threshold at the input size (a pixel is lesion when p > threshold, 0.5 by default), resize
 * the binary prediction back to the image's original size with nearest neighbour, then the
 * hard metrics of `evaluateMask` (smooth = 1) and the surface distances (HD95, ASSD) against the
 * original-size mask. Post-processing (`postprocess`: keep the largest component, drop small
 * ones) applies to the original-size prediction before it is scored. Optionally the hard
 * metrics at the input size too, against the mask as the network saw it (not post-processed).
 *
 * Pure JavaScript on typed arrays (no tensors, no Node-only API).
 */
import {
  checkThreshold,
  DEFAULT_THRESHOLD,
  postprocess,
  postprocessAtImageSize,
  thresholdProbabilities,
} from '../data/recipe.js';
import { UserError } from '../errors.js';
import {
  confusionCounts,
  evaluateMask,
  metricsFromCounts,
  type ConfusionCounts,
  type SegmentationMetrics,
} from '../metrics/evaluation.js';
import { MEAN_METRIC_NAMES, surfaceScores, type SurfaceScores } from '../metrics/registry.js';
import type { SurfaceOptions } from '../metrics/surface_policy.js';
import type { PostprocessOptions } from '../util/components.js';
import { lesionFraction, type BinaryMask } from '../util/raster.js';

// The recipe's threshold step, re-exported where callers found it before it moved.
export { checkThreshold, DEFAULT_THRESHOLD, thresholdProbabilities };

/** The hard metrics' names, in the order tables and CSV files show them (from `METRICS`). */
export const METRIC_NAMES = MEAN_METRIC_NAMES;

/** Parses a threshold flag ("0.5"), naming the flag in the error. */
export function parseThreshold(text: string, flag = '--threshold'): number {
  const v = text.trim() === '' ? Number.NaN : Number(text);
  if (!(v >= 0 && v <= 1)) {
    throw new UserError(`${flag}: expected a number from 0 to 1, got '${text}'`);
  }
  return v;
}

/** The scores of one image. */
export interface ImageScore {
  /** The hard metrics at the original size (smooth = 1). */
  metrics: SegmentationMetrics;
  /** The confusion counts at the original size (the plain Jaccard's). */
  counts: ConfusionCounts;
  /**
   * The surface metrics (HD95 and ASSD in pixels or mm, ...: the `'defined'` ones of
   * `METRICS`) at the original size; where a mask is empty, what the policy gives (null under
   * the default `skip`; metrics/surface_policy.ts).
   */
  surface: SurfaceScores | null;
  /** The lesion's fraction of the image in the ground truth, at the original size. */
  truthArea: number;
  /** The lesion's fraction of the image in the prediction, at the original size. */
  predictedArea: number;
  /** The prediction at the original size (0/1). */
  prediction: BinaryMask;
  /** The metrics at the input size, when a mask at the input size was given. */
  atInputSize?: SegmentationMetrics;
}

/** Options of `scorePrediction`. */
export interface ScoreOptions {
  /** Lesion where p > threshold. Default 0.5. */
  threshold?: number;
  /** The ground truth at the input size (0/1), to score there as well. Default: none. */
  inputMask?: ArrayLike<number>;
  /** Post-processing of the original-size prediction. Default: none. */
  postprocess?: PostprocessOptions;
  /** The surface metrics' policy for empty masks and pixel spacing. Default: skip, pixels. */
  surface?: SurfaceOptions;
}

/**
 * Scores a binary prediction at the original size (any tool's mask, or ours resized) against
 * the ground truth: post-processing when asked, the hard metrics, lesion areas and surface
 * distances. Both masks hold 0/1 (non-zero is lesion).
 */
export function scoreMask(
  prediction: BinaryMask,
  truth: BinaryMask,
  options: Pick<ScoreOptions, 'postprocess' | 'surface'> = {},
): ImageScore {
  if (prediction.height !== truth.height || prediction.width !== truth.width) {
    throw new UserError(
      `the prediction is ${prediction.height}x${prediction.width} but the ground ` +
        `truth is ${truth.height}x${truth.width}`,
    );
  }
  const kept = postprocessAtImageSize(options, prediction);
  // Both masks are 0/1: foreground is > 0.5 for either.
  const counts = confusionCounts(truth.data, kept.data);
  return {
    metrics: metricsFromCounts(counts),
    counts,
    surface: surfaceScores(truth, kept, options.surface),
    truthArea: lesionFraction(truth.data),
    predictedArea: lesionFraction(kept.data),
    prediction: kept,
  };
}

/**
 * Scores a probability map at the input size against a ground-truth mask at the original
 * size (see the module doc). The prediction is resized with `resizeMask` (OpenCV's
 * INTER_NEAREST rule), as the reference's `cv2.resize` does.
 *
 * @param probabilities `inputSize[0] * inputSize[1]` values in [0, 1], row-major.
 * @param truth the original-size mask (0/1).
 */
export function scorePrediction(
  probabilities: ArrayLike<number>,
  inputSize: readonly [number, number],
  truth: BinaryMask,
  options: ScoreOptions = {},
): ImageScore {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  checkThreshold(threshold);
  // Steps 4 to 6 of the prediction recipe (data/recipe.ts): thresholded, resized back,
  // post-processed; scoreMask then scores the mask as it is.
  const { mask: prediction, inputMask: small } = postprocess(
    {
      inputShape: inputSize,
      threshold,
      ...(options.postprocess ? { postprocess: options.postprocess } : {}),
    },
    probabilities,
    [truth.height, truth.width],
  );
  const score = scoreMask(prediction, truth, options.surface ? { surface: options.surface } : {});
  if (options.inputMask !== undefined) {
    if (options.inputMask.length !== small.data.length) {
      throw new UserError(
        `the input-size mask has ${options.inputMask.length} values, expected ` +
          `${small.data.length} (${inputSize[0]}x${inputSize[1]})`,
      );
    }
    // Masks at the input size hold 0/1 (or 0/255): foreground is > 0.5.
    score.atInputSize = evaluateMask(options.inputMask, small.data);
  }
  return score;
}
