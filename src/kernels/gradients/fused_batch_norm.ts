/**
 * A cheaper gradient for `FusedBatchNorm` (what tfjs-layers' BatchNormalization runs), for
 * every backend.
 *
 * With r = rsqrt(variance + eps), s = scale, d = dy and c = x - mean, the derivatives are
 *   dx = d * (s * r)                      (broadcast over the channel axis)
 *   dmean = -s * r * sum(d)
 *   dvariance = -s * r^3 / 2 * sum(d * c)
 *   dscale = r * sum(d * c)
 *   doffset = sum(d)
 * summed over every axis but the channels. TensorFlow.js's own gradient first tiles r to the
 * full activation shape and computes each full-size product separately (about nine full-size
 * operations and a Tile, which alone took a fifth of a wasm training step); this one shares
 * sum(d) and sum(d * c) and needs four full-size operations.
 *
 * Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs-core';
import { resizeNearestGradConfig } from './resize_nearest.js';

interface FusedBatchNormAttrs {
  varianceEpsilon: number;
}

export const fusedBatchNormGradConfig: GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const d = dy as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as FusedBatchNormAttrs;
    const [x, mean, variance, scale] = saved;
    const s = scale ?? tf.scalar(1);
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: tf.Tensor): tf.Tensor =>
      axes.length > 0 ? tf.reshape(tf.sum(t, axes), mean.shape) : t;
    // Shared pieces, computed here: the engine runs each derivative below in its own tidy, so
    // anything created inside one of them is gone before the next. These live until the
    // enclosing gradient computation ends.
    const r = tf.rsqrt(tf.add(variance, varianceEpsilon));
    const sr = tf.mul(s, r);
    const sumDy = reduce(d);
    const sumDyC = reduce(tf.mul(d, tf.sub(x, mean)));
    return {
      x: () => tf.mul(d, sr),
      mean: () => tf.reshape(tf.mul(tf.neg(sr), sumDy), mean.shape),
      variance: () =>
        tf.reshape(tf.mul(tf.mul(sr, tf.square(r)), tf.mul(sumDyC, -0.5)), mean.shape),
      scale: () => tf.reshape(tf.mul(r, sumDyC), mean.shape),
      offset: () => tf.reshape(sumDy, mean.shape),
    };
  },
};

let registered = false;

/**
 * Replaces tfjs's FusedBatchNorm gradient and the ResizeNearestNeighbor gradient by a whole
 * factor (resize_nearest.ts) (once per process).
 */
export function registerGradients(): void {
  if (registered) return;
  tf.registerGradient(fusedBatchNormGradConfig);
  tf.registerGradient(resizeNearestGradConfig);
  registered = true;
}
