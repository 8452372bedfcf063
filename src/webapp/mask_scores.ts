/**
 * How well a mask matches a ground truth given with its image: DSC and IoU at the image's
 * size, from the project's definitions (metrics/counts.ts: `confusionCounts`, then
 * `metricsFromCounts` with the reference's smooth = 1). So an empty mask against an empty
 * ground truth scores 1, and k false-positive pixels against an empty ground truth score
 * 1 / (k + 1), as `ftunet evaluate` scores them. Pure.
 */
import { UserError } from '../errors.js';
import { confusionCounts, metricsFromCounts } from '../metrics/counts.js';
import type { BinaryMask } from '../util/raster.js';

/** A mask's agreement with a ground truth. */
export interface MaskScores {
  /** Dice: (2 TP + 1) / (2 TP + FP + FN + 1). */
  dsc: number;
  /** Jaccard: (TP + 1) / (TP + FP + FN + 1). */
  iou: number;
}

/** DSC and IoU of `mask` (0/1) against `truth` (0/1), both at the image's size. */
export function maskScores(mask: BinaryMask, truth: BinaryMask): MaskScores {
  if (mask.height !== truth.height || mask.width !== truth.width) {
    throw new UserError(
      `the mask is ${mask.width}x${mask.height} but the ground truth is ` +
        `${truth.width}x${truth.height}: they cannot be compared`,
    );
  }
  const { dsc, iou } = metricsFromCounts(confusionCounts(truth.data, mask.data));
  return { dsc, iou };
}
