/**
 * Hard per-image evaluation metrics on thresholded masks (reference code `utils.py`: `auc`,
 * `check_preds`): confusion counts, then DSC, precision, recall, TNR and IoU, each with the
 * reference's smoothing term (smooth = 1 in numerator and denominator), on plain arrays (any
 * `ArrayLike<number>`: `Uint8Array`, `Float32Array`, `number[]`, holding 0/1, 0/255 or
 * probabilities), so that masks can be scored at their original resolution (760x570 for BUS,
 * up to 2166x3188 for ISIC) without building tensors. Counts are exact integers. Pure, without
 * tfjs: the web app scores masks with it. evaluation.ts adds the same on NHWC tensor batches.
 *
 * Empty masks, with smooth = 1:
 * - empty ground truth, empty prediction: TP = FP = FN = 0, so DSC = precision = recall =
 *   IoU = 1/1 = 1, and TNR = (TN + 1) / (TN + 1) = 1;
 * - empty ground truth, one false-positive pixel: DSC = 1 / (1 + 1) = 0.5, precision = 0.5,
 *   recall = 1/1 = 1, IoU = 0.5, TNR = TN / (TN + 1) with TN = pixels - 1; with k false
 *   positives DSC = precision = IoU = 1 / (k + 1);
 * - a one-pixel lesion that the prediction misses entirely: DSC = recall = IoU = 0.5 and
 *   precision = 1/1 = 1.
 */
import { ShapeError, UserError } from '../errors.js';

/** Pixel counts of one image (or one mask pair). */
export interface ConfusionCounts {
  /** Ground truth and prediction both foreground. */
  tp: number;
  /** Ground truth background, prediction foreground. */
  fp: number;
  /** Ground truth foreground, prediction background. */
  fn: number;
  /** Ground truth and prediction both background. */
  tn: number;
}

/** The hard metrics of one image. */
export interface SegmentationMetrics {
  /** Dice score (2 TP + s) / (2 TP + FP + FN + s) = (2 |P ∩ G| + s) / (|P| + |G| + s). */
  dsc: number;
  /** Precision (TP + s) / (TP + FP + s). */
  precision: number;
  /** Recall, sensitivity, TPR: (TP + s) / (TP + FN + s). */
  recall: number;
  /** Specificity, TNR: (TN + s) / (TN + FP + s). */
  tnr: number;
  /** Intersection over union, Jaccard index: (TP + s) / (TP + FP + FN + s). */
  iou: number;
}

/** How values become foreground or background. */
export interface ThresholdOptions {
  /**
   * A predicted value is foreground when it is strictly greater than this. Default 0.5: right
   * for probabilities (the reference's `round(clip(p, 0, 1))` sends 0.5 to 0 too), for 0/1
   * masks and for clean 0/255 masks; use 127.5 for 0-255 masks with intermediate values.
   */
  threshold?: number;
  /** The same for the ground truth. Default: `threshold`. */
  trueThreshold?: number;
}

export interface EvaluationOptions extends ThresholdOptions {
  /** Added to the numerator and the denominator of every metric. Default 1 (the reference). */
  smooth?: number;
}

/** The two thresholds of `options` (truth, prediction), checked; `fn` heads the message. */
export function resolveThresholds(fn: string, options: ThresholdOptions): [number, number] {
  const pred = options.threshold ?? 0.5;
  const truth = options.trueThreshold ?? pred;
  for (const [name, v] of [
    ['threshold', pred],
    ['trueThreshold', truth],
  ] as const) {
    if (!Number.isFinite(v))
      throw new UserError(`${fn}: ${name} must be a finite number, got ${v}`);
  }
  return [truth, pred];
}

/** Counts over the elements [start, end) of both arrays. */
export function countRange(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  trueThreshold: number,
  threshold: number,
  start: number,
  end: number,
): ConfusionCounts {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = start; i < end; i++) {
    const g = yTrue[i] > trueThreshold;
    const p = yPred[i] > threshold;
    if (g) {
      if (p) tp++;
      else fn++;
    } else if (p) fp++;
  }
  return { tp, fp, fn, tn: end - start - tp - fp - fn };
}

/**
 * Confusion counts of two masks of the same length (flattened in any order, the same for
 * both), after thresholding (see {@link ThresholdOptions}).
 */
export function confusionCounts(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  options: ThresholdOptions = {},
): ConfusionCounts {
  const fn = 'confusionCounts';
  if (yTrue.length !== yPred.length) {
    throw new ShapeError(`${fn}: yTrue has ${yTrue.length} elements but yPred has ${yPred.length}`);
  }
  const [trueThreshold, threshold] = resolveThresholds(fn, options);
  return countRange(yTrue, yPred, trueThreshold, threshold, 0, yTrue.length);
}

/** The hard metrics from confusion counts, with `smooth` (default 1) as in the reference. */
export function metricsFromCounts(
  counts: ConfusionCounts,
  options: Pick<EvaluationOptions, 'smooth'> = {},
): SegmentationMetrics {
  const s = options.smooth ?? 1;
  if (!Number.isFinite(s) || s < 0) {
    throw new UserError(`smooth must be a finite number >= 0, got ${s}`);
  }
  const { tp, fp, fn, tn } = counts;
  return {
    dsc: (2 * tp + s) / (2 * tp + fp + fn + s),
    precision: (tp + s) / (tp + fp + s),
    recall: (tp + s) / (tp + fn + s),
    tnr: (tn + s) / (tn + fp + s),
    iou: (tp + s) / (tp + fp + fn + s),
  };
}

/** The hard metrics of one pair of masks (plain arrays); see {@link confusionCounts}. */
export function evaluateMask(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  options: EvaluationOptions = {},
): SegmentationMetrics {
  return metricsFromCounts(confusionCounts(yTrue, yPred, options), options);
}
