/**
 * The soft Dice score and the Dice loss (paper Eq. 1 and 2; reference code `losses.py`: `dsc`,
 * `dice_loss`).
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

/** Per-class (and per-image) Dice scores; call inside `tf.tidy`. */
export function dicePerClass(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  o: Pick<ResolvedLossOptions, 'smooth' | 'reduction'>,
  fnName: string,
): tf.Tensor {
  return diceFromConfusion(computeTpFpFn(yTrue, yPred, o.reduction, fnName), o);
}

/** Dice scores from confusion sums (per class, and per image); call inside `tf.tidy`. */
export function diceFromConfusion(
  { tp, fp, fn }: TpFpFn,
  o: Pick<ResolvedLossOptions, 'smooth'>,
): tf.Tensor {
  // sum(g) + sum(p) = 2 TP + FP + FN.
  const twoTp = tf.mul(tp, 2);
  return tf.div(tf.add(twoTp, o.smooth), tf.add(tf.addN([twoTp, fp, fn]), o.smooth));
}

/**
 * Soft Dice score DSC_c = (2 * sum(g * p) + smooth) / (sum(g) + sum(p) + smooth), smooth = 1 by
 * default (paper Eq. 1, reference `dsc`). With several channels the result is the mean of the
 * per-class scores; with `'image'` reduction, the mean over images too. An empty ground truth
 * with an empty prediction scores smooth / smooth = 1; with an empty ground truth, a
 * prediction of total mass m scores 1 / (m + 1). Only `smooth` and `reduction` are read from
 * the options.
 */
export function diceCoefficient(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  options?: LossOptions,
): tf.Scalar {
  const fnName = 'diceCoefficient';
  checkPair(fnName, yTrue, yPred);
  const o = resolveLossOptions(fnName, options);
  return tf.tidy(() => meanClassesAndImages(dicePerClass(yTrue, yPred, o, fnName)));
}

/**
 * Dice loss DL = sum_c (1 - DSC_c) (paper Eq. 2, reference `dice_loss`): the sum over classes
 * (channels) as in the paper, so 1 - DSC exactly for one channel; with `'image'` reduction,
 * the mean over images of the per-image loss. Perfect prediction and empty-with-empty score 0.
 * See {@link diceCoefficient}.
 */
export function diceLoss(yTrue: tf.Tensor, yPred: tf.Tensor, options?: LossOptions): tf.Scalar {
  return DICE_LOSS.direct(yTrue, yPred, options);
}

/** The Dice loss's definition: terms 1 - DSC_c; both forms (direct, summed) come from it. */
export const DICE_LOSS = overlapLoss('diceLoss', (c, o) => tf.sub(1, diceFromConfusion(c, o)));
