/**
 * The gradient of `ResizeNearestNeighbor` (Keras's UpSampling2D) by a whole factor, for every
 * backend: the sum of each input pixel's block of dy, as a reshape and a sum.
 *
 * TensorFlow.js 4.22's cpu kernel `ResizeNearestNeighborGrad` is wrong for batches of more
 * than one image (its result differs from the sum of blocks by whole values; the wasm kernel
 * is right), which made the cpu backend's gradients depend on how a batch is split into
 * passes. Other sizes keep the backend's kernel. Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs-core';

interface ResizeAttrs {
  alignCorners: boolean;
  halfPixelCenters: boolean;
  size: [number, number];
}

export const resizeNearestGradConfig: GradConfig = {
  kernelName: tf.ResizeNearestNeighbor,
  inputsToSave: ['images'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const d = dy as tf.Tensor4D;
    const [images] = saved;
    const [n, h, w, c] = images.shape as [number, number, number, number];
    const [, outH, outW] = d.shape;
    const { alignCorners, halfPixelCenters } = attrs as unknown as ResizeAttrs;
    const sy = outH / h;
    const sx = outW / w;
    const blocks =
      !alignCorners && !halfPixelCenters && Number.isInteger(sy) && Number.isInteger(sx);
    return {
      images: () =>
        blocks
          ? tf.sum(tf.reshape(d, [n, h, sy, w, sx, c]), [2, 4])
          : tf.engine().runKernel(tf.ResizeNearestNeighborGrad, { images, dy: d }, attrs),
    };
  },
};
