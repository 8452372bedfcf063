/**
 * Shared arithmetic of the overlap losses and soft metrics: the options and their defaults,
 * the input checks, and the soft confusion sums TP, FP and FN (MONAI's `compute_tp_fp_fn`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, UserError } from '../errors.js';

/**
 * How the sums are taken over a batch:
 * - `'batch'`: one index over the whole flattened batch, as the reference Keras code does
 *   (`K.flatten(y_true)` flattens the batch axis too);
 * - `'image'`: one index per image, then the mean over the images.
 */
export type Reduction = 'batch' | 'image';

export const REDUCTIONS: readonly Reduction[] = ['batch', 'image'];

/** The Tversky weight of false negatives: the paper's and the reference code's alpha. */
export const DEFAULT_ALPHA = 0.7;

/**
 * The default Tversky weight of false positives, 1 - alpha, rounded to 12 decimals so that
 * alpha 0.7 gives 0.3 and not 0.30000000000000004 (in config.json and in messages). Both are
 * the same float32, the precision the losses compute in.
 */
export function defaultBeta(alpha: number): number {
  return Math.round((1 - alpha) * 1e12) / 1e12;
}

/** The focal parameter: FTL = (1 - TI)^(1/gamma) with the reference code's exponent 0.75. */
export const DEFAULT_GAMMA = 4 / 3;

/** Options of every loss in `src/losses` (each loss reads the fields it needs). */
export interface LossOptions {
  /**
   * Weight of the false negatives in the Tversky index. Default 0.7 (the paper's and the
   * reference code's alpha). MONAI and segmentation_models.pytorch call this weight `beta`
   * and the false-positive weight `alpha`: the names are swapped there.
   */
  alpha?: number;
  /** Weight of the false positives in the Tversky index. Default `1 - alpha`. */
  beta?: number;
  /**
   * Focal parameter of the focal Tversky loss, FTL = (1 - TI)^(1/gamma). Default 4/3, so the
   * exponent is 0.75 as in the reference code; gamma = 1 gives the Tversky loss.
   */
  gamma?: number;
  /**
   * Added to the numerator and the denominator of every index. Default 1 (the reference's
   * `smooth`). It makes an empty ground truth with an empty prediction score 1; with 0 that
   * case is 0/0 = NaN.
   */
  smooth?: number;
  /** Default `'batch'` (the reference). See {@link Reduction}. */
  reduction?: Reduction;
}

/** `LossOptions` with every default filled in. */
export type ResolvedLossOptions = Required<LossOptions>;

/** The defaults, filled in here only. */
export function resolveLossOptions(fn: string, options: LossOptions = {}): ResolvedLossOptions {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const resolved: ResolvedLossOptions = {
    alpha,
    beta: options.beta ?? defaultBeta(alpha),
    gamma: options.gamma ?? DEFAULT_GAMMA,
    smooth: options.smooth ?? 1,
    reduction: options.reduction ?? 'batch',
  };
  for (const key of ['alpha', 'beta', 'smooth'] as const) {
    const v = resolved[key];
    if (!Number.isFinite(v) || v < 0) {
      throw new UserError(`${fn}: ${key} must be a finite number >= 0, got ${v}`);
    }
  }
  if (!Number.isFinite(resolved.gamma) || resolved.gamma <= 0) {
    throw new UserError(`${fn}: gamma must be a finite number > 0, got ${resolved.gamma}`);
  }
  reductionAxes(fn, resolved.reduction);
  return resolved;
}

/** The NHWC axes summed for each reduction: N, H and W for `'batch'`, H and W for `'image'`. */
export function reductionAxes(fn: string, reduction: Reduction): number[] {
  switch (reduction) {
    case 'batch':
      return [0, 1, 2];
    case 'image':
      return [1, 2];
    default:
      throw new UserError(
        `${fn}: unknown reduction '${String(reduction)}'; expected one of ` +
          REDUCTIONS.map((r) => `'${r}'`).join(', '),
      );
  }
}

/** Throws a `ShapeError` unless both tensors have the same rank-4 (NHWC) shape. */
export function checkPair(fn: string, yTrue: tf.Tensor, yPred: tf.Tensor): void {
  const a = yTrue.shape;
  const b = yPred.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new ShapeError(
      `${fn}: yTrue shape [${a.join(',')}] does not match yPred shape [${b.join(',')}]`,
    );
  }
  if (a.length !== 4) {
    throw new ShapeError(
      `${fn}: expected rank-4 NHWC tensors [batch, height, width, channels], got shape ` +
        `[${a.join(',')}]`,
    );
  }
}

/** Soft confusion sums, one entry per class (`'batch'`: [C]) or per image and class ([N, C]). */
export interface TpFpFn {
  tp: tf.Tensor;
  fp: tf.Tensor;
  fn: tf.Tensor;
}

/**
 * TP = sum(g * p), FP = sum((1 - g) * p), FN = sum(g * (1 - p)) over the axes of `reduction`,
 * with g = yTrue and p = yPred cast to float32 (soft values allowed). Written as three
 * products rather than FP = sum(p) - TP: the difference loses float32 digits on big masks.
 * Call inside `tf.tidy`.
 */
export function computeTpFpFn(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  reduction: Reduction,
  fnName = 'computeTpFpFn',
): TpFpFn {
  const axes = reductionAxes(fnName, reduction);
  const g = tf.cast(yTrue, 'float32');
  const p = tf.cast(yPred, 'float32');
  const one = tf.scalar(1);
  return {
    tp: tf.sum(tf.mul(g, p), axes),
    fp: tf.sum(tf.mul(tf.sub(one, g), p), axes),
    fn: tf.sum(tf.mul(g, tf.sub(one, p)), axes),
  };
}

/**
 * A loss from per-class (and per-image) terms: the sum over classes (the paper's Eq. 2 and 4),
 * then the mean over images for `'image'`. Call inside `tf.tidy`.
 */
export function sumClassesMeanImages(perClass: tf.Tensor): tf.Scalar {
  return tf.mean(tf.sum(perClass, -1));
}

/**
 * An index or metric from per-class (and per-image) values: the mean over classes (so it stays
 * in [0, 1]), then over images for `'image'`. For one channel this is the value itself.
 * Call inside `tf.tidy`.
 */
export function meanClassesAndImages(perClass: tf.Tensor): tf.Scalar {
  return tf.mean(perClass);
}
