/**
 * The pixel-level precision-recall curve of a set of probability maps against their masks, as
 * the reference code plots it for the test set: every pixel of every image is one sample
 * (pooled, not averaged per image), scored at the network's input size.
 *
 * The curve comes from two histograms of the probabilities, one of lesion pixels and one of
 * background pixels, with `bins` equal bins on [0, 1]: a pixel with probability p falls in
 * bin k = min(floor(p * bins), bins - 1). Predicting "lesion" for p >= k / bins then gives
 * TP = the lesion pixels in bins k..bins-1 and FP = the background pixels there, so each bin
 * edge is one point of the curve. At 1000 bins that is exact to 0.001 in the threshold and
 * costs 16 kB whatever the number of pixels. The operating point (the threshold evaluation
 * uses, lesion where p > threshold, as `thresholdProbabilities`) is counted exactly, pixel by
 * pixel, not read off the histogram.
 *
 * Precision = TP / (TP + FP), recall = TP / (TP + FN), without the +1 smoothing of the
 * per-image metrics: pooled counts are large, and smoothing would bend the curve's ends.
 * Precision is undefined where nothing is predicted (those thresholds give no point); recall
 * is undefined without lesion pixels (the curve is then empty and the operating point has a
 * null recall).
 *
 * Pure JavaScript on typed arrays.
 */
import { UserError } from '../errors.js';

/** The default number of histogram bins: thresholds every 0.001. */
export const DEFAULT_PR_BINS = 1000;

/** One point of the curve: predicting lesion where p >= threshold. */
export interface PrecisionRecallPoint {
  /** The bin's lower edge, k / bins. */
  threshold: number;
  precision: number;
  recall: number;
}

/** Pixel counts and scores at one threshold (lesion where p > threshold). */
export interface OperatingPoint {
  threshold: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** Null when no pixel is predicted lesion. */
  precision: number | null;
  /** Null when no pixel is lesion. */
  recall: number | null;
  /** 2 TP / (2 TP + FP + FN): the pooled pixel DSC; null when both masks are empty. */
  f1: number | null;
}

/** The whole curve and its summary. */
export interface PrecisionRecallCurve {
  bins: number;
  /** Lesion and background pixels counted. */
  positives: number;
  negatives: number;
  /** Points by decreasing threshold (so by non-decreasing recall); empty without lesion pixels. */
  points: PrecisionRecallPoint[];
  /**
   * Average precision: sum over the points of (R_k - R_{k-1}) P_k with R_0 = 0 (the step-wise
   * area under the curve, as scikit-learn's `average_precision_score`); null without points.
   */
  averagePrecision: number | null;
  operatingPoint: OperatingPoint;
}

/**
 * Accumulates probability maps and masks, then gives the curve. Call `add` once per image (or
 * per batch: any flat arrays of the same length).
 */
export class PrecisionRecallAccumulator {
  readonly bins: number;
  readonly threshold: number;
  private readonly positive: Float64Array;
  private readonly negative: Float64Array;
  private readonly counts = { tp: 0, fp: 0, fn: 0, tn: 0 };

  /**
   * @param threshold the operating point's threshold (lesion where p > threshold), 0 to 1.
   * @param bins histogram bins on [0, 1], an integer from 1 to 1e6. Default 1000.
   */
  constructor(threshold: number, bins: number = DEFAULT_PR_BINS) {
    if (!(typeof threshold === 'number' && threshold >= 0 && threshold <= 1)) {
      throw new UserError(`threshold must be a number from 0 to 1, got ${threshold}`);
    }
    if (!(Number.isInteger(bins) && bins >= 1 && bins <= 1e6)) {
      throw new UserError(`bins must be an integer from 1 to 1000000, got ${bins}`);
    }
    this.bins = bins;
    this.threshold = threshold;
    this.positive = new Float64Array(bins);
    this.negative = new Float64Array(bins);
  }

  /**
   * Adds pixels: `probabilities[i]` in [0, 1] (values outside are clamped into the first or
   * last bin; NaN counts as 0) against `mask[i]` (lesion where > 0).
   */
  add(probabilities: ArrayLike<number>, mask: ArrayLike<number>): void {
    if (probabilities.length !== mask.length) {
      throw new UserError(
        `${probabilities.length} probabilities but ` + `${mask.length} mask values`,
      );
    }
    const { bins, threshold, positive, negative, counts } = this;
    const last = bins - 1;
    for (let i = 0; i < probabilities.length; i++) {
      const p = probabilities[i];
      const k = p > 0 ? Math.min(Math.floor(p * bins), last) : 0;
      const predicted = p > threshold;
      if (mask[i] > 0) {
        positive[k] += 1;
        if (predicted) counts.tp += 1;
        else counts.fn += 1;
      } else {
        negative[k] += 1;
        if (predicted) counts.fp += 1;
        else counts.tn += 1;
      }
    }
  }

  /** The curve of everything added so far. */
  curve(): PrecisionRecallCurve {
    const { bins, positive, negative } = this;
    let positives = 0;
    let negatives = 0;
    for (let k = 0; k < bins; k++) {
      positives += positive[k];
      negatives += negative[k];
    }
    const points: PrecisionRecallPoint[] = [];
    if (positives > 0) {
      let tp = 0;
      let fp = 0;
      for (let k = bins - 1; k >= 0; k--) {
        tp += positive[k];
        fp += negative[k];
        if (tp + fp > 0)
          points.push({ threshold: k / bins, precision: tp / (tp + fp), recall: tp / positives });
      }
    }
    let averagePrecision: number | null = null;
    if (points.length > 0) {
      averagePrecision = 0;
      let previous = 0;
      for (const pt of points) {
        averagePrecision += (pt.recall - previous) * pt.precision;
        previous = pt.recall;
      }
    }
    return {
      bins,
      positives,
      negatives,
      points,
      averagePrecision,
      operatingPoint: this.operatingPoint(),
    };
  }

  /** The exact counts and scores at `threshold`. */
  operatingPoint(): OperatingPoint {
    const { tp, fp, fn, tn } = this.counts;
    return {
      threshold: this.threshold,
      tp,
      fp,
      fn,
      tn,
      precision: tp + fp > 0 ? tp / (tp + fp) : null,
      recall: tp + fn > 0 ? tp / (tp + fn) : null,
      f1: 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : null,
    };
  }
}
