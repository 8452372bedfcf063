/**
 * One definition of an overlap loss producing both of its forms: from its per-class (and
 * per-image) terms of the confusion sums TP, FP and FN, `overlapLoss` makes
 *
 * - the direct form, the sum over classes of the terms of `computeTpFpFn(yTrue, yPred)`, then
 *   the mean over images for `'image'` reduction (the losses of tversky.ts and dice.ts); and
 * - the summed form for a batch computed in parts (summed.ts explains the reasoning): with
 *   `'batch'` reduction the statistics are the sums [TP_c..., FP_c..., FN_c...] and the loss the
 *   same terms of their total; with `'image'` reduction the mean over images of the direct
 *   form, as [n * loss, n].
 *
 * Both apply the same tensor operations to the same sums, so a batch computed at once and in
 * parts gives the same loss. Also the shared helpers of the summed forms (`SummedValue`,
 * `confusionSums`, `splitConfusion`, `perImageMean`).
 *
 * Layout and options as the losses themselves (NHWC, each channel a class; see utils.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  checkPair,
  computeTpFpFn,
  resolveLossOptions,
  sumClassesMeanImages,
  type LossOptions,
  type ResolvedLossOptions,
  type TpFpFn,
} from './utils.js';

/** A loss or metric of a batch as a function of additive sums over the batch's parts. */
export interface SummedValue {
  /**
   * The additive statistics of `yTrue` and `yPred` (one part of a batch): a 1-D float32
   * tensor whose sum over the parts gives the batch's. Call inside `tf.tidy`.
   */
  sums(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D;
  /** The batch's value from its summed statistics; differentiable. Call inside `tf.tidy`. */
  fromSums(sums: tf.Tensor1D): tf.Scalar;
}

/** [TP_c..., FP_c..., FN_c...] over N, H and W (`'batch'` reduction); call inside `tf.tidy`. */
export function confusionSums(yTrue: tf.Tensor, yPred: tf.Tensor, fnName: string): tf.Tensor1D {
  const { tp, fp, fn } = computeTpFpFn(yTrue, yPred, 'batch', fnName);
  return tf.concat([tp, fp, fn]) as tf.Tensor1D;
}

/** The inverse of {@link confusionSums}'s layout; call inside `tf.tidy`. */
export function splitConfusion(sums: tf.Tensor1D): TpFpFn {
  const [tp, fp, fn] = tf.split(sums, 3);
  return { tp, fp, fn };
}

/** The mean over images of `loss`, as sums [n * loss, n] (`'image'` reduction). */
export function perImageMean(loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar): SummedValue {
  return {
    sums: (yTrue, yPred) => {
      const n = yTrue.shape[0] ?? 1;
      return tf.stack([tf.mul(loss(yTrue, yPred), n), tf.scalar(n)]) as tf.Tensor1D;
    },
    fromSums: (sums) => tf.reshape(tf.div(tf.slice(sums, 0, 1), tf.slice(sums, 1, 1)), []),
  };
}

/** Both forms of a loss (see the module doc). */
export interface LossForms {
  direct: (yTrue: tf.Tensor, yPred: tf.Tensor, options?: LossOptions) => tf.Scalar;
  summed: (options?: LossOptions) => SummedValue;
}

/**
 * The direct and the summed form of the loss whose per-class (and per-image) terms are
 * `terms` of the confusion sums; `fnName` names it in errors. Call the forms as the losses.
 */
export function overlapLoss(
  fnName: string,
  terms: (confusion: TpFpFn, o: ResolvedLossOptions) => tf.Tensor,
): LossForms {
  const direct = (yTrue: tf.Tensor, yPred: tf.Tensor, options?: LossOptions): tf.Scalar => {
    checkPair(fnName, yTrue, yPred);
    const o = resolveLossOptions(fnName, options);
    return tf.tidy(() =>
      sumClassesMeanImages(terms(computeTpFpFn(yTrue, yPred, o.reduction, fnName), o)),
    );
  };
  const summed = (options?: LossOptions): SummedValue => {
    const o = resolveLossOptions(fnName, options);
    if (o.reduction === 'image') return perImageMean((t, p) => direct(t, p, o));
    return {
      sums: (yTrue, yPred) => {
        checkPair(fnName, yTrue, yPred);
        return confusionSums(yTrue, yPred, fnName);
      },
      fromSums: (sums) => sumClassesMeanImages(terms(splitConfusion(sums), o)),
    };
  };
  return { direct, summed };
}
