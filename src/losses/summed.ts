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
 * The overlap losses (Tversky, focal Tversky, Dice) are each defined once, by their per-class
 * terms, and `overlapLoss` (overlap.ts) makes both forms from it; BCE + Dice adds the
 * log-likelihood's sums to the Dice loss's here.
 *
 * Layout and options as the losses themselves (NHWC, each channel a class; see utils.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { bceDiceLoss, logLikelihood } from './bce.js';
import { DICE_LOSS, diceFromConfusion } from './dice.js';
import { confusionSums, perImageMean, splitConfusion, type SummedValue } from './overlap.js';
import { FOCAL_TVERSKY_LOSS, TVERSKY_LOSS } from './tversky.js';
import { checkPair, resolveLossOptions, sumClassesMeanImages, type LossOptions } from './utils.js';

// The shared helpers live in overlap.ts (the Tversky and Dice losses build on them); callers
// found them here before.
export { confusionSums, perImageMean, splitConfusion, type SummedValue };

/** {@link tverskyLoss} as a function of sums: TP, FP and FN per class. */
export function summedTverskyLoss(options?: LossOptions): SummedValue {
  return TVERSKY_LOSS.summed(options);
}

/** {@link focalTverskyLoss} as a function of sums: TP, FP and FN per class. */
export function summedFocalTverskyLoss(options?: LossOptions): SummedValue {
  return FOCAL_TVERSKY_LOSS.summed(options);
}

/** {@link diceLoss} as a function of sums: TP, FP and FN per class. */
export function summedDiceLoss(options?: LossOptions): SummedValue {
  return DICE_LOSS.summed(options);
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
