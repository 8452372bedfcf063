/**
 * The Tversky index, the Tversky loss and the focal Tversky loss (Abraham & Khan, "A novel
 * focal Tversky loss function and improved Attention U-Net for lesion segmentation",
 * ISBI 2019, Eq. 3 and 4; reference code `losses.py`: `tversky`, `tversky_loss`,
 * `focal_tversky`).
 *
 * Inputs are NHWC tensors of the same shape: yTrue the ground truth (binary 0/1 usually; soft
 * values in [0, 1] work), yPred the sigmoid probabilities. Sums run over N, H and W for
 * reduction `'batch'` (the reference) or over H and W for `'image'`; each channel is a class.
 */
import * as tf from '@tensorflow/tfjs-core';
import { overlapLoss } from './overlap.js';
import {
  checkPair,
  computeTpFpFn,
  meanClassesAndImages,
  resolveLossOptions,
  type LossOptions,
  type ResolvedLossOptions,
  type TpFpFn,
} from './utils.js';

/**
 * The smallest value of 1 - TI that the focal Tversky loss raises to 1/gamma. The slope of
 * x^(1/gamma) is infinite at x = 0 for gamma > 1, which gives Inf and NaN gradients at a
 * perfect prediction (TI = 1); 1e-6 is above float32's rounding of 1 - TI (about 6e-8), so
 * only a (numerically) perfect index is clamped. Effect: the loss never goes below
 * eps^(1/gamma) (about 3.2e-5 for gamma = 4/3) and its gradient is finite everywhere: zero
 * where the clamp is active, and at most (1/gamma) * eps^(1/gamma - 1) times dTI/dp just
 * above it (0.75 * eps^-0.25, about 24, for gamma = 4/3).
 */
export const FTL_EPSILON = 1e-6;

/** Tversky indices from confusion sums (per class, and per image); call inside `tf.tidy`. */
export function tverskyFromConfusion({ tp, fp, fn }: TpFpFn, o: ResolvedLossOptions): tf.Tensor {
  const num = tf.add(tp, o.smooth);
  const den = tf.add(tf.addN([tp, tf.mul(fn, o.alpha), tf.mul(fp, o.beta)]), o.smooth);
  return tf.div(num, den);
}

/** The focal Tversky terms max(1 - TI, eps)^(1/gamma) of indices `ti`; call inside `tf.tidy`. */
export function focalTerms(ti: tf.Tensor, o: ResolvedLossOptions): tf.Tensor {
  return tf.pow(tf.maximum(tf.sub(1, ti), FTL_EPSILON), 1 / o.gamma);
}

/** Per-class (and per-image) Tversky indices; call inside `tf.tidy`. */
function tverskyPerClass(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  o: ResolvedLossOptions,
  fnName: string,
): tf.Tensor {
  return tverskyFromConfusion(computeTpFpFn(yTrue, yPred, o.reduction, fnName), o);
}

/**
 * Tversky index TI_c = (TP_c + smooth) / (TP_c + alpha * FN_c + beta * FP_c + smooth), with
 * TP = sum(g * p), FN = sum(g * (1 - p)), FP = sum((1 - g) * p) (paper Eq. 3).
 *
 * alpha weighs the false negatives (default 0.7) and beta the false positives (default
 * 1 - alpha); MONAI and segmentation_models.pytorch name these two the other way round.
 * alpha = beta = 0.5 gives the Dice score only when smooth = 0 (otherwise it is Dice with the
 * smoothing term doubled). With several channels the result is the mean of the per-class
 * indices; with `'image'` reduction, the mean over images too. An empty ground truth with an
 * empty prediction scores smooth / smooth = 1.
 *
 * @returns a scalar in [0, 1] for inputs in [0, 1].
 */
export function tverskyIndex(yTrue: tf.Tensor, yPred: tf.Tensor, options?: LossOptions): tf.Scalar {
  const fnName = 'tverskyIndex';
  checkPair(fnName, yTrue, yPred);
  const o = resolveLossOptions(fnName, options);
  return tf.tidy(() => meanClassesAndImages(tverskyPerClass(yTrue, yPred, o, fnName)));
}

/**
 * Tversky loss TL = sum_c (1 - TI_c) (paper Section 2.1; reference `tversky_loss`), the sum
 * over classes (channels) as in the paper; for one channel it is 1 - TI exactly, and in
 * general C * (1 - tverskyIndex) for `'batch'` reduction. With `'image'` reduction it is the
 * mean over images of the per-image loss. Perfect prediction and empty-with-empty score 0.
 * See {@link tverskyIndex} for the index, the weights and the layout.
 */
export function tverskyLoss(yTrue: tf.Tensor, yPred: tf.Tensor, options?: LossOptions): tf.Scalar {
  return TVERSKY_LOSS.direct(yTrue, yPred, options);
}

/** The Tversky loss's definition: terms 1 - TI_c; both forms (direct, summed) come from it. */
export const TVERSKY_LOSS = overlapLoss('tverskyLoss', (c, o) =>
  tf.sub(1, tverskyFromConfusion(c, o)),
);

/**
 * Focal Tversky loss FTL = sum_c max(1 - TI_c, eps)^(1/gamma) (paper Eq. 4; reference
 * `focal_tversky`, whose exponent 0.75 is 1/gamma for the default gamma = 4/3). gamma = 1
 * gives the Tversky loss; gamma > 1 weighs badly segmented (low-TI) cases more.
 *
 * eps = {@link FTL_EPSILON} keeps the value and the gradient finite at TI = 1 (the reference
 * code is infinite there): a perfect prediction, or an empty ground truth with an empty
 * prediction, scores eps^(1/gamma) (about 3.2e-5 at the default gamma) instead of 0. Summed
 * over classes (channels) and, for `'image'` reduction, averaged over images. See
 * {@link tverskyIndex} for the index, the weights and the layout.
 */
export function focalTverskyLoss(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  options?: LossOptions,
): tf.Scalar {
  return FOCAL_TVERSKY_LOSS.direct(yTrue, yPred, options);
}

/**
 * The focal Tversky loss's definition: terms max(1 - TI_c, eps)^(1/gamma); both forms come
 * from it.
 */
export const FOCAL_TVERSKY_LOSS = overlapLoss('focalTverskyLoss', (c, o) =>
  focalTerms(tverskyFromConfusion(c, o), o),
);
