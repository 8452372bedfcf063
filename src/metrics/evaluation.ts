/**
 * The hard per-image evaluation metrics (counts.ts: confusion counts, DSC, precision, recall,
 * TNR and IoU with smooth = 1, and what empty masks score) on NHWC tensor batches, one result
 * per image; counts.ts's plain-array functions re-exported, where callers found them.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { checkPair } from '../losses/utils.js';
import {
  countRange,
  metricsFromCounts,
  resolveThresholds,
  type ConfusionCounts,
  type EvaluationOptions,
  type SegmentationMetrics,
  type ThresholdOptions,
} from './counts.js';

export {
  confusionCounts,
  evaluateMask,
  metricsFromCounts,
  type ConfusionCounts,
  type EvaluationOptions,
  type SegmentationMetrics,
  type ThresholdOptions,
} from './counts.js';

/**
 * Confusion counts of each image of two NHWC tensors of the same shape, over its H x W x C
 * elements, after thresholding (see {@link ThresholdOptions}). Reads the tensors' data
 * synchronously; creates no tensors.
 */
export function confusionCountsPerImage(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  options: ThresholdOptions = {},
): ConfusionCounts[] {
  const fn = 'confusionCountsPerImage';
  checkPair(fn, yTrue, yPred);
  const [trueThreshold, threshold] = resolveThresholds(fn, options);
  const g = yTrue.dataSync();
  const p = yPred.dataSync();
  const [n] = yTrue.shape;
  const perImage = yTrue.size / n;
  const counts: ConfusionCounts[] = [];
  for (let i = 0; i < n; i++) {
    counts.push(countRange(g, p, trueThreshold, threshold, i * perImage, (i + 1) * perImage));
  }
  return counts;
}

/** The hard metrics of each image of two NHWC tensors; see {@link confusionCountsPerImage}. */
export function evaluateBatch(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  options: EvaluationOptions = {},
): SegmentationMetrics[] {
  return confusionCountsPerImage(yTrue, yPred, options).map((c) => metricsFromCounts(c, options));
}
