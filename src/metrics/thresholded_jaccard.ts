/**
 * The ISIC 2018 Task 1 score (the challenge's official ranking metric): the mean over images
 * of the Jaccard index (IoU), where an image whose IoU is below 0.65 counts 0. It punishes a
 * failed image fully instead of crediting it with a partial overlap; an image at exactly 0.65
 * keeps its 0.65.
 *
 * Here the per-image IoU is the evaluation's (metrics/evaluation.ts, smooth = 1, at the
 * original size), so an image whose prediction and ground truth are both empty counts 1. At
 * ISIC's sizes the smoothing moves an IoU by less than 1 / (|P ∪ G| + 1).
 *
 * Pure JavaScript (no tensors, no Node-only API).
 */
import { UserError } from '../errors.js';

/** IoU below this counts 0 (ISIC 2018 Task 1). */
export const ISIC_JACCARD_THRESHOLD = 0.65;

/**
 * The mean over images of `iou` where `iou >= threshold`, else 0. Throws a `UserError` for an
 * empty list or a value outside [0, 1].
 */
export function thresholdedJaccard(
  ious: readonly number[],
  threshold = ISIC_JACCARD_THRESHOLD,
): number {
  const fn = 'thresholdedJaccard';
  if (ious.length === 0) throw new UserError(`${fn}: no images`);
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new UserError(`${fn}: threshold must be 0 to 1, got ${threshold}`);
  }
  let sum = 0;
  for (const [i, v] of ious.entries()) {
    if (!(v >= 0 && v <= 1)) throw new UserError(`${fn}: IoU of image ${i} is ${v}, not 0 to 1`);
    if (v >= threshold) sum += v;
  }
  return sum / ious.length;
}
