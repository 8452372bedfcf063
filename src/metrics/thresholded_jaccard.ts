/**
 * The ISIC 2018 Task 1 score (the challenge's official ranking metric): the mean over images
 * of the Jaccard index (IoU), where an image whose IoU is below 0.65 counts 0. It punishes a
 * failed image fully instead of crediting it with a partial overlap; an image at exactly 0.65
 * keeps its 0.65.
 *
 * The registry (metrics/registry.ts) scores it twice, at the original size:
 * - `thresholdedJaccard` ("ISIC score") with the evaluation's per-image IoU
 *   (metrics/evaluation.ts, smooth = 1: (TP + 1) / (TP + FP + FN + 1)), so an image whose
 *   prediction and ground truth are both empty counts 1, and one lesion pixel missed on an
 *   otherwise empty image counts 0.5 (then 0, under the threshold);
 * - `thresholdedJaccardPlain` ("ISIC score, plain") with the plain Jaccard index of
 *   {@link plainJaccard}, TP / (TP + FP + FN), as the challenge's own scoring computes it;
 *   an empty union (both masks empty) counts 1, as MONAI's `compute_iou` with
 *   `ignore_empty=False` scores it (both agree there is no lesion).
 * At ISIC's sizes the smoothing moves an IoU by less than 1 / (|P ∪ G| + 1); the two differ
 * where masks are small, e.g. 1 pixel found of a 2-pixel lesion: plain 0.5, smoothed 2/3.
 *
 * Pure JavaScript (no tensors, no Node-only API).
 */
import { UserError } from '../errors.js';
import type { ConfusionCounts } from './evaluation.js';

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

/**
 * The Jaccard index without a smoothing term, TP / (TP + FP + FN) = |P ∩ G| / |P ∪ G|, and 1
 * where the union is empty (both masks empty; see the module doc).
 */
export function plainJaccard(counts: Pick<ConfusionCounts, 'tp' | 'fp' | 'fn'>): number {
  const union = counts.tp + counts.fp + counts.fn;
  return union === 0 ? 1 : counts.tp / union;
}
