/**
 * Float batches for TensorFlow.js from the 8-bit arrays of a data set: the only place in the
 * data pipeline that touches tensors. Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { RawImage } from '../util/raster.js';
import { checkIndex, type SegmentationDataset } from './dataset.js';
import { scaleInto, toInput, type Scaling } from './recipe.js';

/** How networks are trained and so how they predict: step 3 of the prediction recipe. */
const TRAINING_SCALING: Scaling = 'divide-by-255';

/** One batch: images and masks, NHWC float32. */
export interface Batch {
  /** [n, rows, cols, channels], values in [0, 1] (8-bit value / 255). */
  xs: tf.Tensor4D;
  /** [n, rows, cols, 1], values 0 and 1. */
  ys: tf.Tensor4D;
}

/** What a batch is made from: a data set, or some of its items (a worker's share of a batch). */
export type BatchSource = Pick<
  SegmentationDataset,
  'count' | 'inputSize' | 'channels' | 'images' | 'masks'
>;

/**
 * Builds the batch of the items at `indices` (in that order; repeats allowed). The caller
 * owns the two tensors and disposes of them.
 */
export function makeBatch(dataset: BatchSource, indices: readonly number[]): Batch {
  if (indices.length === 0) throw new UserError('a batch needs at least one item');
  const [h, w] = dataset.inputSize;
  const c = dataset.channels;
  const imageSize = h * w * c;
  const maskSize = h * w;
  const x = new Float32Array(indices.length * imageSize);
  const y = new Float32Array(indices.length * maskSize);
  indices.forEach((index, k) => {
    checkIndex(index, dataset.count);
    const img = dataset.images[index];
    const mask = dataset.masks[index];
    const xo = k * imageSize;
    scaleInto(TRAINING_SCALING, img.subarray(0, imageSize), x, xo);
    const yo = k * maskSize;
    // Masks are stored 0/1; `> 0` also accepts 0/255 arrays built by hand.
    for (let i = 0; i < maskSize; i++) y[yo + i] = mask[i] > 0 ? 1 : 0;
  });
  return {
    xs: tf.tensor4d(x, [indices.length, h, w, c], 'float32'),
    ys: tf.tensor4d(y, [indices.length, h, w, 1], 'float32'),
  };
}

/**
 * Stacks 8-bit images of one size and channel count (e.g. decoded and resized files to
 * predict) into a [n, rows, cols, channels] float32 tensor with values / 255, as `makeBatch`
 * does for data sets. The caller disposes of it.
 */
export function imagesToTensor(images: readonly RawImage[]): tf.Tensor4D {
  const x = toInput({ scaling: TRAINING_SCALING }, images);
  const { height: h, width: w, channels: c } = images[0];
  return tf.tensor4d(x, [images.length, h, w, c], 'float32');
}
