/**
 * The health of a model's state after an update: whether any weight, BatchNorm moving
 * statistic or optimiser slot holds NaN or an infinity, or whether a weight has grown so large
 * that training has in effect exploded. A clamped loss stays finite while the weights behind
 * it are already NaN (the clamp in the Tversky index hides it), so the loss alone cannot tell.
 *
 * The check costs a few element-wise passes over the parameters per step (a fraction of a
 * percent of a training step) and one read back of 2 numbers per tensor. Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * A weight or BatchNorm statistic above this magnitude counts as exploded. The networks'
 * weights stay below 100 in healthy training (inputs are scaled to [0, 1] and every block is
 * normalised); at 1e8, float32 sums of such values have lost all precision, and SGD at a
 * learning rate of 1e3 reaches 1e23 within one epoch. Optimiser slots are checked for
 * finiteness only (Adam's second moments are squared gradients and may be large).
 */
export const EXPLODED_MAGNITUDE = 1e8;

/** A named tensor to check. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
  /** Whether its magnitude is bounded by `EXPLODED_MAGNITUDE` (weights), or only finite. */
  bounded: boolean;
}

/**
 * Undefined when every tensor is finite (and bounded ones below `EXPLODED_MAGNITUDE`); else a
 * short description such as "307211 of 356895 values are NaN or infinite (first in
 * conv2d_1/kernel)" or "conv2d_1/kernel holds a value of 2.1e+23 (above 1e8)".
 */
export async function describeUnhealthy(
  tensors: readonly NamedTensor[],
): Promise<string | undefined> {
  if (tensors.length === 0) return undefined;
  // x * 0 is 0 for every finite x and NaN for NaN and ±Inf, so a sum of them is NaN exactly
  // when some value is not finite (a max would skip NaN on some backends).
  const summary = tf.tidy(() =>
    tf.stack(
      tensors.flatMap(({ tensor }) => [
        tf.sum(tf.mul(tensor, 0)),
        tensor.size === 0 ? tf.scalar(0) : tf.max(tf.abs(tensor)),
      ]),
    ),
  );
  const values = await summary.data();
  summary.dispose();
  const broken = tensors.filter((_, i) => Number.isNaN(values[2 * i]));
  if (broken.length > 0) {
    let nonFinite = 0;
    for (const { tensor } of broken) {
      for (const v of await tensor.data()) if (!Number.isFinite(v)) nonFinite++;
    }
    const total = tensors.reduce((n, t) => n + t.tensor.size, 0);
    return `${nonFinite} of ${total} values are NaN or infinite (first in ${broken[0].name})`;
  }
  const exploded = tensors.findIndex((t, i) => t.bounded && values[2 * i + 1] > EXPLODED_MAGNITUDE);
  if (exploded >= 0) {
    return (
      `${tensors[exploded].name} holds a value of ${values[2 * exploded + 1].toPrecision(3)} ` +
      `(above ${EXPLODED_MAGNITUDE.toExponential()})`
    );
  }
  return undefined;
}
