/**
 * Soft training metrics on probability tensors (reference code `losses.py`: `dsc` and
 * `confusion`, which Keras reports every epoch): Dice score, precision and recall.
 *
 * Inputs are NHWC tensors of the same shape, yTrue the ground truth and yPred the sigmoid
 * probabilities; both are clipped to [0, 1] (as the reference's `confusion`). Sums run over N,
 * H and W for reduction `'batch'` (the reference) or over H and W for `'image'`. With several
 * channels each metric is the mean of the per-class values (then the mean over images for
 * `'image'`), so it stays in [0, 1]. An empty ground truth with an empty prediction scores
 * smooth / smooth = 1 on all three.
 */
import * as tf from '@tensorflow/tfjs-core';
import { diceFromConfusion, dicePerClass } from '../losses/dice.js';
import { confusionSums, perImageMean, splitConfusion, type SummedValue } from '../losses/summed.js';
import {
  checkPair,
  computeTpFpFn,
  meanClassesAndImages,
  resolveLossOptions,
  type LossOptions,
} from '../losses/utils.js';

/** Options of the soft metrics: `smooth` (default 1) and `reduction` (default `'batch'`). */
export type SoftMetricOptions = Pick<LossOptions, 'smooth' | 'reduction'>;

/** Clips to [0, 1] and casts to float32; call inside `tf.tidy`. */
function unit(x: tf.Tensor): tf.Tensor {
  return tf.clipByValue(tf.cast(x, 'float32'), 0, 1);
}

/**
 * Soft Dice score (2 * TP + smooth) / (sum(g) + sum(p) + smooth) on clipped inputs; equal to
 * `diceCoefficient` for inputs in [0, 1].
 */
export function softDsc(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  options?: SoftMetricOptions,
): tf.Scalar {
  const fnName = 'softDsc';
  checkPair(fnName, yTrue, yPred);
  const o = resolveLossOptions(fnName, options);
  return tf.tidy(() => meanClassesAndImages(dicePerClass(unit(yTrue), unit(yPred), o, fnName)));
}

/**
 * {@link softDsc} as a function of sums over a batch's parts (see `SummedValue` in
 * losses/summed.ts): TP, FP and FN per class of the clipped inputs for `'batch'` reduction, so
 * a batch computed in parts reports the DSC of the whole batch (as Keras reports the
 * reference's `dsc` metric for each batch).
 */
export function summedSoftDsc(options?: SoftMetricOptions): SummedValue {
  const fnName = 'softDsc';
  const o = resolveLossOptions(fnName, options);
  if (o.reduction === 'image') return perImageMean((t, p) => softDsc(t, p, o));
  return {
    sums: (yTrue, yPred) => {
      checkPair(fnName, yTrue, yPred);
      return confusionSums(unit(yTrue), unit(yPred), fnName);
    },
    fromSums: (sums) => meanClassesAndImages(diceFromConfusion(splitConfusion(sums), o)),
  };
}

/**
 * Soft precision (TP + smooth) / (TP + FP + smooth), TP = sum(g * p), FP = sum((1 - g) * p).
 * An empty ground truth scores 1 / (m + 1) for a prediction of total mass m.
 */
export function softPrecision(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  options?: SoftMetricOptions,
): tf.Scalar {
  const fnName = 'softPrecision';
  checkPair(fnName, yTrue, yPred);
  const o = resolveLossOptions(fnName, options);
  return tf.tidy(() => {
    const { tp, fp } = computeTpFpFn(unit(yTrue), unit(yPred), o.reduction, fnName);
    const num = tf.add(tp, o.smooth);
    return meanClassesAndImages(tf.div(num, tf.add(num, fp)));
  });
}

/**
 * Soft recall (TP + smooth) / (TP + FN + smooth), FN = sum(g * (1 - p)). An empty ground truth
 * scores 1 whatever the prediction.
 */
export function softRecall(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  options?: SoftMetricOptions,
): tf.Scalar {
  const fnName = 'softRecall';
  checkPair(fnName, yTrue, yPred);
  const o = resolveLossOptions(fnName, options);
  return tf.tidy(() => {
    const { tp, fn } = computeTpFpFn(unit(yTrue), unit(yPred), o.reduction, fnName);
    const num = tf.add(tp, o.smooth);
    return meanClassesAndImages(tf.div(num, tf.add(num, fn)));
  });
}
