/**
 * Float batches for TensorFlow.js from the 8-bit arrays of a data set: the only place in the
 * data pipeline that touches tensors. Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { SegmentationDataset } from './dataset.js';

/** One batch: images and masks, NHWC float32. */
export interface Batch {
  /** [n, rows, cols, channels], values in [0, 1] (8-bit value / 255). */
  xs: tf.Tensor4D;
  /** [n, rows, cols, 1], values 0 and 1. */
  ys: tf.Tensor4D;
}

/**
 * Builds the batch of the items at `indices` (in that order; repeats allowed). The caller
 * owns the two tensors and disposes of them.
 */
export function makeBatch(dataset: SegmentationDataset, indices: readonly number[]): Batch {
  if (indices.length === 0) throw new UserError('makeBatch: indices is empty');
  const [h, w] = dataset.inputSize;
  const c = dataset.channels;
  const imageSize = h * w * c;
  const maskSize = h * w;
  const x = new Float32Array(indices.length * imageSize);
  const y = new Float32Array(indices.length * maskSize);
  indices.forEach((index, k) => {
    if (!Number.isInteger(index) || index < 0 || index >= dataset.count) {
      throw new UserError(
        `makeBatch: index ${index} is outside the data set (0 to ${dataset.count - 1})`,
      );
    }
    const img = dataset.images[index];
    const mask = dataset.masks[index];
    const xo = k * imageSize;
    for (let i = 0; i < imageSize; i++) x[xo + i] = img[i] / 255;
    const yo = k * maskSize;
    // Masks are stored 0/1; `> 0` also accepts 0/255 arrays built by hand.
    for (let i = 0; i < maskSize; i++) y[yo + i] = mask[i] > 0 ? 1 : 0;
  });
  return {
    xs: tf.tensor4d(x, [indices.length, h, w, c], 'float32'),
    ys: tf.tensor4d(y, [indices.length, h, w, 1], 'float32'),
  };
}
