/**
 * Binary cross-entropy on probabilities, and BCE + Dice (reference code `losses.py`:
 * `bce_dice_loss`, which adds Keras's `binary_crossentropy` to `dice_loss`).
 *
 * Inputs are NHWC tensors of the same shape: yTrue the ground truth (binary 0/1 usually; soft
 * values in [0, 1] work), yPred the sigmoid probabilities.
 */
import * as tf from '@tensorflow/tfjs-core';
import { diceLoss } from './dice.js';
import { checkPair, resolveLossOptions, type LossOptions } from './utils.js';

/**
 * Predictions are clipped to [eps, 1 - eps] before the logarithms so that a confident wrong
 * pixel costs -log(eps) (about 16.1) instead of Inf; 1e-7 is Keras's `epsilon()`, the value
 * the reference trained with.
 */
export const BCE_EPSILON = 1e-7;

/**
 * Binary cross-entropy BCE = -mean(g * log(p) + (1 - g) * log(1 - p)) with p clipped to
 * [{@link BCE_EPSILON}, 1 - BCE_EPSILON], the mean over every element (N, H, W and C), as
 * Keras's `binary_crossentropy` followed by its mean over the batch. The gradient is zero
 * where the clip is active. `reduction` is accepted for uniformity but changes nothing: every
 * image has as many elements, so the mean of per-image means is the overall mean. A perfect
 * binary prediction scores about 1e-7 (the clipped logarithms), not 0.
 */
export function binaryCrossentropy(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  options?: LossOptions,
): tf.Scalar {
  const fnName = 'binaryCrossentropy';
  checkPair(fnName, yTrue, yPred);
  resolveLossOptions(fnName, options);
  return tf.tidy(() => tf.neg(tf.mean<tf.Scalar>(logLikelihood(yTrue, yPred))));
}

/**
 * The per-element log-likelihood g * log(p) + (1 - g) * log(1 - p), p clipped to
 * [{@link BCE_EPSILON}, 1 - BCE_EPSILON]: BCE is minus its mean. Call inside `tf.tidy`.
 */
export function logLikelihood(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  const g = tf.cast(yTrue, 'float32');
  const p = tf.clipByValue(tf.cast(yPred, 'float32'), BCE_EPSILON, 1 - BCE_EPSILON);
  return tf.add(tf.mul(g, tf.log(p)), tf.mul(tf.sub(1, g), tf.log1p(tf.neg(p))));
}

/**
 * BCE + Dice loss = {@link binaryCrossentropy} + {@link diceLoss} (reference `bce_dice_loss`),
 * with the same options (`smooth` and `reduction` go to the Dice term). With several channels
 * the BCE is the mean over all elements and the Dice loss the sum over classes. A perfect
 * prediction scores about 1e-7 (the clipped BCE).
 */
export function bceDiceLoss(yTrue: tf.Tensor, yPred: tf.Tensor, options?: LossOptions): tf.Scalar {
  const fnName = 'bceDiceLoss';
  checkPair(fnName, yTrue, yPred);
  resolveLossOptions(fnName, options);
  return tf.tidy(() =>
    tf.add<tf.Scalar>(binaryCrossentropy(yTrue, yPred, options), diceLoss(yTrue, yPred, options)),
  );
}
