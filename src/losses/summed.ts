/**
 * The losses of this folder as functions of sums over a batch's pixels, so that a batch
 * computed in parts (micro-batches, data-parallel workers) has the loss, and the gradient, of
 * the whole batch: one index per batch, as the reference code computes it.
 *
 * With `'batch'` reduction each loss depends on the images only through additive statistics:
 * S = sum over the parts of s(part), where s(part) is a vector of sums over the part's pixels
 * (TP, FP and FN per class for the Tversky and Dice losses; for the BCE, the summed
 * log-likelihood and the element count), and the batch's loss is L = f(S). By the chain rule
 * its gradient with respect to the weights theta is
 *
 *   dL/dtheta = sum_k (df/dS_k) dS_k/dtheta = sum_parts sum_k c_k ds_k(part)/dtheta,  c = df/dS,
 *
 * so with the coefficients c of the whole batch, the gradient of a part's surrogate
 * sum_k c_k s_k(part) is exactly that part's share of the batch's gradient, and the shares add
 * up to the gradient of the whole batch in one pass. (Summing the parts' losses f(s(part))
 * instead gives a different function whenever a batch is split: f is not linear.)
 *
 * With `'image'` reduction a loss is the mean over images of per-image losses, which adds up
 * as it is: s(part) = [n * L(part), n] for a part of n images, f(S) = S_0 / S_1.
 *
 * Layout and options as the losses themselves (NHWC, each channel a class; see utils.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { bceDiceLoss, logLikelihood } from './bce.js';
import { diceFromConfusion, diceLoss } from './dice.js';
import { focalTerms, focalTverskyLoss, tverskyFromConfusion, tverskyLoss } from './tversky.js';
import {
  checkPair,
  computeTpFpFn,
  resolveLossOptions,
  sumClassesMeanImages,
  type LossOptions,
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

/** A summed form from a function of the confusion sums (`'batch'` reduction). */
function fromConfusion(fnName: string, f: (c: TpFpFn) => tf.Scalar): SummedValue {
  return {
    sums: (yTrue, yPred) => {
      checkPair(fnName, yTrue, yPred);
      return confusionSums(yTrue, yPred, fnName);
    },
    fromSums: (sums) => f(splitConfusion(sums)),
  };
}

/** {@link tverskyLoss} as a function of sums: TP, FP and FN per class. */
export function summedTverskyLoss(options?: LossOptions): SummedValue {
  const o = resolveLossOptions('tverskyLoss', options);
  if (o.reduction === 'image') return perImageMean((t, p) => tverskyLoss(t, p, o));
  return fromConfusion('tverskyLoss', (c) =>
    sumClassesMeanImages(tf.sub(1, tverskyFromConfusion(c, o))),
  );
}

/** {@link focalTverskyLoss} as a function of sums: TP, FP and FN per class. */
export function summedFocalTverskyLoss(options?: LossOptions): SummedValue {
  const o = resolveLossOptions('focalTverskyLoss', options);
  if (o.reduction === 'image') return perImageMean((t, p) => focalTverskyLoss(t, p, o));
  return fromConfusion('focalTverskyLoss', (c) =>
    sumClassesMeanImages(focalTerms(tverskyFromConfusion(c, o), o)),
  );
}

/** {@link diceLoss} as a function of sums: TP, FP and FN per class. */
export function summedDiceLoss(options?: LossOptions): SummedValue {
  const o = resolveLossOptions('diceLoss', options);
  if (o.reduction === 'image') return perImageMean((t, p) => diceLoss(t, p, o));
  return fromConfusion('diceLoss', (c) => sumClassesMeanImages(tf.sub(1, diceFromConfusion(c, o))));
}

/**
 * {@link bceDiceLoss} as a function of sums: TP, FP and FN per class for the Dice term, then
 * the summed log-likelihood and the number of elements, BCE = -sum / count (a mean over every
 * element of the batch, as Keras's).
 */
export function summedBceDiceLoss(options?: LossOptions): SummedValue {
  const fnName = 'bceDiceLoss';
  const o = resolveLossOptions(fnName, options);
  if (o.reduction === 'image') return perImageMean((t, p) => bceDiceLoss(t, p, o));
  return {
    sums: (yTrue, yPred) => {
      checkPair(fnName, yTrue, yPred);
      const ll = tf.reshape(tf.sum(logLikelihood(yTrue, yPred)), [1]);
      return tf.concat([
        confusionSums(yTrue, yPred, fnName),
        ll,
        tf.tensor1d([yTrue.size]),
      ]) as tf.Tensor1D;
    },
    fromSums: (sums) => {
      const k = sums.shape[0] - 2;
      const dice = sumClassesMeanImages(
        tf.sub(1, diceFromConfusion(splitConfusion(tf.slice(sums, 0, k)), o)),
      );
      const bce = tf.reshape(tf.neg(tf.div(tf.slice(sums, k, 1), tf.slice(sums, k + 1, 1))), []);
      return tf.add<tf.Scalar>(bce, dice);
    },
  };
}
